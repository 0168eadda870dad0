package io.quire.engine.structured;

import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

import static io.quire.engine.structured.RegexNode.concat;
import static io.quire.engine.structured.RegexNode.literal;

/**
 * JSON Schema integers and numbers with their bounds ({@code minimum}, {@code maximum} and the
 * exclusive ones). Bounds are enforced on whole numbers, so a bounded number is written without
 * an exponent and a fractional bound is rounded inwards: what comes out is always within bounds.
 * {@code format: int32} bounds to Java's int; {@code int64} to ±1e18 (a subset of long).
 */
final class NumberSchemas {
    private static final long LIMIT = 1_000_000_000_000_000L;
    private static final RegexNode FRACTION = RegexParser.parse("\\.[0-9]+");

    private NumberSchemas() {}

    static RegexNode integer(JsonNode s, String path) {
        Long lo = lower(s, path), hi = upper(s, path);
        return lo == null && hi == null ? JsonRegex.INTEGER : IntegerRanges.of(lo, hi);
    }

    static RegexNode number(JsonNode s, String path) {
        Long lo = lower(s, path), hi = upper(s, path);
        if (lo == null && hi == null) return JsonRegex.NUMBER;
        if (lo != null && hi != null && lo > hi) throw JsonSchemaRegex.error(path, "no whole number lies within the bounds");
        List<RegexNode> out = new ArrayList<>();
        out.add(IntegerRanges.of(lo, hi));
        // k.xxx lies in [k, k+1) for k >= 0: k in [max(lo, 0), hi - 1]
        Long a = lo == null ? 0L : Math.max(lo, 0), b = hi == null ? null : hi - 1;
        if (b == null || a <= b) out.add(concat(IntegerRanges.of(a, b), FRACTION));
        // -m.xxx lies in (-m-1, -m] for m >= 1: m in [max(-hi, 1), -lo - 1]
        long c = hi == null ? 1 : Math.max(-hi, 1);
        Long d = lo == null ? null : -lo - 1;
        if (d == null || c <= d) out.add(concat(literal("-"), IntegerRanges.of(c, d), FRACTION));
        return JsonRegex.alts(out);
    }

    /** OpenAPI's integer formats as bounds; any other format on a number is refused. */
    private static long[] formatBounds(JsonNode s, String path) {
        if (!s.has("format")) return null;
        return switch (s.get("format").asString()) {
            case "int32" -> new long[] {Integer.MIN_VALUE, Integer.MAX_VALUE};
            case "int64" -> new long[] {-LIMIT, LIMIT};
            default -> throw new ConstraintException("The JSON Schema format '" + s.get("format").asString() + "' (at "
                    + path + ") is not supported on numbers; int32 and int64 are.");
        };
    }

    private static Long lower(JsonNode s, String path) {
        long[] f = formatBounds(s, path);
        Long lo = f == null ? null : f[0];
        if (s.has("minimum")) lo = (long) Math.ceil(bound(s, "minimum", path));
        if (s.has("exclusiveMinimum")) {
            long ex = (long) Math.floor(bound(s, "exclusiveMinimum", path)) + 1;
            lo = lo == null ? ex : Math.max(lo, ex);
        }
        return lo;
    }

    private static Long upper(JsonNode s, String path) {
        long[] f = formatBounds(s, path);
        Long hi = f == null ? null : f[1];
        if (s.has("maximum")) hi = (long) Math.floor(bound(s, "maximum", path));
        if (s.has("exclusiveMaximum")) {
            long ex = (long) Math.ceil(bound(s, "exclusiveMaximum", path)) - 1;
            hi = hi == null ? ex : Math.min(hi, ex);
        }
        return hi;
    }

    private static double bound(JsonNode s, String key, String path) {
        JsonNode v = s.get(key);
        if (!v.isNumber()) throw JsonSchemaRegex.error(path, key + " must be a number");
        double d = v.doubleValue();
        if (!(Math.abs(d) <= LIMIT)) throw JsonSchemaRegex.error(path, key + " beyond ±1e18 is not supported");
        return d;
    }
}
