package io.quire.engine.structured;

import java.util.ArrayList;
import java.util.List;

import static io.quire.engine.structured.RegexNode.concat;
import static io.quire.engine.structured.RegexNode.literal;

/**
 * Decimal integers within bounds as a regular expression (JSON Schema's {@code minimum} and
 * {@code maximum} on integers): digit by digit, as range-to-regex tools do, without leading zeros.
 */
final class IntegerRanges {
    private static final RegexNode DIGIT = new RegexNode.CharSet(CharRanges.DIGIT);
    private static final RegexNode NONZERO = new RegexNode.CharSet(new int[] {'1', '9'});

    private IntegerRanges() {}

    /** Integers in [lo, hi]; null bounds are open. */
    static RegexNode of(Long lo, Long hi) {
        if (lo != null && hi != null && lo > hi) throw new ConstraintException("The integer range [" + lo + ", " + hi + "] is empty.");
        List<RegexNode> out = new ArrayList<>();
        // Non-negative part: [max(lo, 0), hi]
        if (hi == null || hi >= 0) out.add(nonNegative(lo == null ? 0 : Math.max(lo, 0), hi));
        // Negative part: -[max(-hi, 1), -lo]
        if (lo == null || lo < 0) {
            long a = hi == null || hi >= 0 ? 1 : -hi;
            Long b = lo == null ? null : -lo;
            out.add(concat(literal("-"), nonNegative(a, b)));
        }
        return JsonRegex.alts(out);
    }

    /** [lo, hi] for 0 <= lo, hi null for no bound. */
    private static RegexNode nonNegative(long lo, Long hi) {
        List<RegexNode> out = new ArrayList<>();
        int loDigits = Long.toString(lo).length();
        int hiDigits = hi == null ? 19 : Long.toString(hi).length();
        for (int d = loDigits; d <= hiDigits; d++) {
            long from = d == loDigits ? lo : pow10(d - 1);
            long to = hi != null && d == hiDigits ? hi : pow10(d) - 1;
            if (d == 19 && hi == null) to = Long.MAX_VALUE;
            if (from <= to) out.add(sameLength(pad(from, d), pad(to, d)));
        }
        if (hi == null) out.add(concat(NONZERO, new RegexNode.Repeat(DIGIT, 19, -1))); // 20 digits and more
        return JsonRegex.alts(out);
    }

    /** Numbers between two digit strings of the same length (with the leading digit of a multi-digit one non-zero by construction). */
    private static RegexNode sameLength(String lo, String hi) {
        if (lo.isEmpty()) return RegexNode.EMPTY;
        char a = lo.charAt(0), b = hi.charAt(0);
        String restLo = lo.substring(1), restHi = hi.substring(1);
        if (a == b) return concat(literal(String.valueOf(a)), sameLength(restLo, restHi));
        List<RegexNode> out = new ArrayList<>();
        String nines = "9".repeat(restLo.length()), zeros = "0".repeat(restLo.length());
        out.add(concat(literal(String.valueOf(a)), sameLength(restLo, nines)));
        if (b - a > 1) {
            out.add(concat(new RegexNode.CharSet(new int[] {a + 1, b - 1}), new RegexNode.Repeat(DIGIT, restLo.length(), restLo.length())));
        }
        out.add(concat(literal(String.valueOf(b)), sameLength(zeros, restHi)));
        return JsonRegex.alts(out);
    }

    private static String pad(long v, int digits) {
        String s = Long.toString(v);
        return "0".repeat(digits - s.length()) + s;
    }

    private static long pow10(int n) {
        long r = 1;
        for (int i = 0; i < n; i++) r *= 10;
        return r;
    }
}
