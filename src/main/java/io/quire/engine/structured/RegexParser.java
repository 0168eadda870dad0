package io.quire.engine.structured;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses the regular expressions of {@code guided_regex} and JSON Schema {@code pattern} (the
 * syntax Python's {@code re} and JavaScript share) into a {@link RegexNode}. The whole output
 * must match, so {@code ^} at the start and {@code $} at the end change nothing. What a finite
 * automaton cannot do (backreferences, lookaround, word boundaries, possessive quantifiers) and
 * inline flags are refused with a {@link ConstraintException} saying where.
 */
public final class RegexParser {
    /** Largest count a {@code {n,m}} may use: each repetition is a copy in the automaton. */
    static final int MAX_REPEAT = 1000;

    private final String src;
    private int pos;

    private RegexParser(String src) {
        this.src = src;
    }

    public static RegexNode parse(String regex) {
        RegexParser p = new RegexParser(regex);
        if (p.src.startsWith("^")) p.pos++;
        RegexNode n = p.alternation();
        if (p.pos < p.src.length()) throw p.error("unbalanced ')'");
        return n;
    }

    private RegexNode alternation() {
        List<RegexNode> options = new ArrayList<>();
        options.add(sequence());
        while (peek('|')) {
            pos++;
            options.add(sequence());
        }
        return options.size() == 1 ? options.getFirst() : new RegexNode.Alt(options);
    }

    private RegexNode sequence() {
        List<RegexNode> parts = new ArrayList<>();
        while (pos < src.length() && !peek('|') && !peek(')')) {
            if (peek('$') && (pos == src.length() - 1 || src.charAt(pos + 1) == ')' || src.charAt(pos + 1) == '|')
                    && isOutermostEnd()) {
                pos++;
                continue;
            }
            parts.add(quantified(atom()));
        }
        return parts.size() == 1 ? parts.getFirst() : new RegexNode.Concat(parts);
    }

    /** A {@code $} that ends the whole expression (no later text at any nesting level). */
    private boolean isOutermostEnd() {
        for (int i = pos + 1; i < src.length(); i++) if (src.charAt(i) != ')') return false;
        return true;
    }

    private RegexNode quantified(RegexNode atom) {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            int min, max;
            if (c == '*') { min = 0; max = -1; pos++; }
            else if (c == '+') { min = 1; max = -1; pos++; }
            else if (c == '?') { min = 0; max = 1; pos++; }
            else if (c == '{' && isCount()) {
                pos++;
                min = number(0);
                max = min;
                if (peek(',')) {
                    pos++;
                    max = peek('}') ? -1 : number(-1);
                }
                pos++; // '}'
                if (max != -1 && max < min) throw error("repetition {" + min + "," + max + "} has max below min");
                if (Math.max(min, max) > MAX_REPEAT) throw error("repetition counts above " + MAX_REPEAT + " are not supported");
            } else {
                return atom;
            }
            if (peek('?')) pos++; // lazy: the same language
            else if (peek('+')) throw error("possessive quantifiers are not supported");
            atom = new RegexNode.Repeat(atom, min, max);
        }
        return atom;
    }

    private boolean isCount() {
        int i = pos + 1;
        int digits = 0;
        while (i < src.length() && Character.isDigit(src.charAt(i))) { i++; digits++; }
        if (i < src.length() && src.charAt(i) == ',') {
            i++;
            while (i < src.length() && Character.isDigit(src.charAt(i))) { i++; digits++; }
        }
        return digits > 0 && i < src.length() && src.charAt(i) == '}';
    }

    private int number(int none) {
        int start = pos;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) pos++;
        if (start == pos) return none;
        try {
            return Integer.parseInt(src.substring(start, pos));
        } catch (NumberFormatException e) {
            throw error("repetition count too large");
        }
    }

    private RegexNode atom() {
        int c = src.codePointAt(pos);
        switch (c) {
            case '(' -> {
                pos++;
                if (peek('?')) {
                    if (src.startsWith("?:", pos)) pos += 2;
                    else if (src.startsWith("?P<", pos) || (src.startsWith("?<", pos)
                            && pos + 2 < src.length() && src.charAt(pos + 2) != '=' && src.charAt(pos + 2) != '!')) {
                        int close = src.indexOf('>', pos);
                        if (close < 0) throw error("unterminated group name");
                        pos = close + 1;
                    } else throw error("lookaround, inline flags and other (?...) groups are not supported");
                }
                RegexNode inner = alternation();
                if (!peek(')')) throw error("missing ')'");
                pos++;
                return inner;
            }
            case '[' -> { return new RegexNode.CharSet(charClass()); }
            case '.' -> { pos++; return new RegexNode.CharSet(CharRanges.complement(new int[] {'\n', '\n'})); }
            case '\\' -> {
                int[] set = escape(false);
                return new RegexNode.CharSet(set);
            }
            case '*', '+', '?' -> throw error("nothing to repeat");
            case '^' -> throw error("'^' is only supported at the start");
            case '$' -> throw error("'$' is only supported at the end");
            default -> {
                pos += Character.charCount(c);
                return RegexNode.ch(c);
            }
        }
    }

    private int[] charClass() {
        pos++; // '['
        boolean negate = peek('^');
        if (negate) pos++;
        List<int[]> pairs = new ArrayList<>();
        boolean first = true;
        while (true) {
            if (pos >= src.length()) throw error("unterminated character class");
            if (peek(']') && !first) break;
            first = false;
            int[] lo = classAtom();
            if (lo.length == 2 && lo[0] == lo[1] && peek('-') && pos + 1 < src.length() && src.charAt(pos + 1) != ']') {
                pos++;
                int[] hi = classAtom();
                if (hi.length != 2 || hi[0] != hi[1]) throw error("bad character range");
                if (hi[0] < lo[0]) throw error("character range out of order");
                pairs.add(new int[] {lo[0], hi[0]});
            } else {
                for (int i = 0; i < lo.length; i += 2) pairs.add(new int[] {lo[i], lo[i + 1]});
            }
        }
        pos++; // ']'
        int[] set = CharRanges.normalize(pairs);
        return negate ? CharRanges.complement(set) : set;
    }

    private int[] classAtom() {
        if (peek('\\')) return escape(true);
        if (src.startsWith("[:", pos)) throw error("POSIX classes are not supported");
        int c = src.codePointAt(pos);
        pos += Character.charCount(c);
        return new int[] {c, c};
    }

    /** An escape at pos: a set (for {@code \d} and the like) or one code point as a one-range set. */
    private int[] escape(boolean inClass) {
        pos++;
        if (pos >= src.length()) throw error("trailing backslash");
        char c = src.charAt(pos++);
        return switch (c) {
            case 'd' -> CharRanges.DIGIT;
            case 'D' -> CharRanges.complement(CharRanges.DIGIT);
            case 'w' -> CharRanges.WORD;
            case 'W' -> CharRanges.complement(CharRanges.WORD);
            case 's' -> CharRanges.SPACE;
            case 'S' -> CharRanges.complement(CharRanges.SPACE);
            case 'n' -> one('\n');
            case 'r' -> one('\r');
            case 't' -> one('\t');
            case 'f' -> one('\f');
            case 'v' -> one(0x0B);
            case '0' -> one(0);
            case 'b' -> {
                if (inClass) yield one('\b');
                throw error("word boundaries are not supported");
            }
            case 'x' -> one(hex(2));
            case 'u' -> {
                if (peek('{')) {
                    int close = src.indexOf('}', pos);
                    if (close < 0) throw error("unterminated \\u{...}");
                    int cp = parseHex(src.substring(pos + 1, close));
                    pos = close + 1;
                    yield one(cp);
                }
                yield one(hex(4));
            }
            case 'B', 'A', 'z', 'Z', 'G' -> throw error("the anchor \\" + c + " is not supported");
            case 'p', 'P' -> throw error("Unicode property classes are not supported");
            default -> {
                if (Character.isDigit(c)) throw error("backreferences are not supported");
                if (Character.isLetter(c)) throw error("unknown escape \\" + c);
                yield one(c);
            }
        };
    }

    private int hex(int digits) {
        if (pos + digits > src.length()) throw error("incomplete hex escape");
        int v = parseHex(src.substring(pos, pos + digits));
        pos += digits;
        return v;
    }

    private int parseHex(String h) {
        try {
            int v = Integer.parseInt(h, 16);
            if (v > CharRanges.MAX) throw error("code point out of range");
            return v;
        } catch (NumberFormatException e) {
            throw error("bad hex escape");
        }
    }

    private static int[] one(int c) { return new int[] {c, c}; }

    private boolean peek(char c) { return pos < src.length() && src.charAt(pos) == c; }

    private ConstraintException error(String what) {
        return new ConstraintException("Invalid regex at offset " + pos + ": " + what + ".");
    }
}
