package io.quire.engine.structured;

import tools.jackson.databind.JsonNode;

import java.util.List;

import static io.quire.engine.structured.RegexNode.concat;
import static io.quire.engine.structured.RegexNode.literal;

/** JSON Schema strings: {@code minLength}/{@code maxLength}, {@code pattern}, or a {@code format}. */
final class StringSchemas {
    private static final String DATE = "[1-9][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
            + "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))";
    private static final String TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?"
            + "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
    private static final String UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

    private StringSchemas() {}

    static RegexNode string(JsonNode s, String path) {
        boolean lengths = s.has("minLength") || s.has("maxLength");
        if (s.has("format")) {
            if (lengths || s.has("pattern")) throw JsonSchemaRegex.error(path, "format with pattern or lengths is not supported");
            String body = switch (s.get("format").asString()) {
                case "date" -> DATE;
                case "time" -> TIME;
                case "date-time" -> DATE + "T" + TIME;
                case "uuid" -> UUID;
                default -> throw new ConstraintException("The JSON Schema format '" + s.get("format").asString()
                        + "' (at " + path + ") is not supported; date, time, date-time and uuid are.");
            };
            return quoted(RegexParser.parse(body));
        }
        if (s.has("pattern")) {
            if (lengths) throw JsonSchemaRegex.error(path, "pattern with minLength/maxLength is not supported");
            return quoted(jsonSafe(RegexParser.parse(s.get("pattern").asString())));
        }
        int min = length(s, "minLength", 0, path), max = length(s, "maxLength", -1, path);
        if (max >= 0 && max < min) throw JsonSchemaRegex.error(path, "maxLength is below minLength");
        if (min == 0 && max < 0) return JsonRegex.STRING;
        return quoted(new RegexNode.Repeat(JsonRegex.STRING_CHAR, min, max));
    }

    private static RegexNode quoted(RegexNode content) {
        return concat(literal("\""), content, literal("\""));
    }

    /**
     * The pattern's strings that a JSON string holds as they are: quotes, backslashes and control
     * characters taken out of every class (a subset of the pattern's language, so still a match).
     */
    static RegexNode jsonSafe(RegexNode n) {
        return switch (n) {
            case RegexNode.CharSet c -> new RegexNode.CharSet(CharRanges.intersect(c.ranges(), JsonRegex.UNESCAPED));
            case RegexNode.Concat c -> new RegexNode.Concat(c.parts().stream().map(StringSchemas::jsonSafe).toList());
            case RegexNode.Alt a -> new RegexNode.Alt(a.options().stream().map(StringSchemas::jsonSafe).toList());
            case RegexNode.Repeat r -> new RegexNode.Repeat(jsonSafe(r.node()), r.min(), r.max());
            case RegexNode.SepList l -> new RegexNode.SepList(jsonSafe(l.item()), jsonSafe(l.sep()), l.optional());
            case RegexNode.Members m -> new RegexNode.Members(
                    m.items().stream().map(StringSchemas::jsonSafe).toList(), List.copyOf(m.required()), jsonSafe(m.sep()));
        };
    }

    private static int length(JsonNode s, String key, int none, String path) {
        JsonNode v = s.get(key);
        if (v == null) return none;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
            throw JsonSchemaRegex.error(path, key + " must be a non-negative integer");
        }
        if (v.intValue() > RegexParser.MAX_REPEAT) {
            throw JsonSchemaRegex.error(path, key + " above " + RegexParser.MAX_REPEAT + " is not supported");
        }
        return v.intValue();
    }
}
