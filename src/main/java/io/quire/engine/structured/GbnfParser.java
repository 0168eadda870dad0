package io.quire.engine.structured;

import io.quire.engine.structured.GbnfGrammar.Choice;
import io.quire.engine.structured.GbnfGrammar.Expr;
import io.quire.engine.structured.GbnfGrammar.Rep;
import io.quire.engine.structured.GbnfGrammar.RuleRef;
import io.quire.engine.structured.GbnfGrammar.Seq;
import io.quire.engine.structured.GbnfGrammar.Terminal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Recursive descent over the grammar text; newlines are spaces, a rule ends where {@code name ::=} begins another. */
final class GbnfParser {
    private final String src;
    private int pos;

    GbnfParser(String src) {
        this.src = src;
    }

    Map<String, Expr> rules() {
        Map<String, Expr> out = new LinkedHashMap<>();
        skipSpace();
        while (pos < src.length()) {
            int at = pos;
            String name = name();
            if (name.isEmpty()) throw error("expected a rule name");
            skipSpace();
            if (!src.startsWith("::=", pos)) throw error("expected '::=' after rule name '" + name + "'");
            pos += 3;
            Expr body = alternatives();
            if (out.put(name, body) != null) throw error("rule '" + name + "' is defined twice", at);
            skipSpace();
        }
        if (out.isEmpty()) throw error("the grammar is empty");
        return out;
    }

    private Expr alternatives() {
        List<Expr> options = new ArrayList<>();
        options.add(sequence());
        skipSpace();
        while (peek('|')) {
            pos++;
            options.add(sequence());
            skipSpace();
        }
        return options.size() == 1 ? options.getFirst() : new Choice(options);
    }

    private Expr sequence() {
        List<Expr> items = new ArrayList<>();
        while (true) {
            skipSpace();
            if (pos >= src.length() || peek('|') || peek(')') || startsRule()) break;
            items.add(quantified(atom()));
        }
        return items.size() == 1 ? items.getFirst() : new Seq(items);
    }

    private boolean startsRule() {
        int save = pos;
        String n = name();
        skipSpace();
        boolean rule = !n.isEmpty() && src.startsWith("::=", pos);
        pos = save;
        return rule;
    }

    private Expr quantified(Expr e) {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '*') { pos++; e = new Rep(e, 0, -1); }
            else if (c == '+') { pos++; e = new Rep(e, 1, -1); }
            else if (c == '?') { pos++; e = new Rep(e, 0, 1); }
            else if (c == '{') {
                pos++;
                int min = number(), max = min;
                if (peek(',')) {
                    pos++;
                    max = peek('}') ? -1 : number();
                }
                if (!peek('}')) throw error("expected '}'");
                pos++;
                if ((max >= 0 && max < min) || Math.max(min, max) > RegexParser.MAX_REPEAT) {
                    throw error("bad repetition {" + min + "," + max + "}");
                }
                e = new Rep(e, min, max);
            } else return e;
        }
        return e;
    }

    private Expr atom() {
        char c = src.charAt(pos);
        if (c == '"') return literal();
        if (c == '[') return new Terminal(new RegexNode.CharSet(charClass()));
        if (c == '.') {
            pos++;
            return new Terminal(new RegexNode.CharSet(CharRanges.ANY));
        }
        if (c == '(') {
            pos++;
            Expr inner = alternatives();
            skipSpace();
            if (!peek(')')) throw error("expected ')'");
            pos++;
            return inner;
        }
        int at = pos;
        String n = name();
        if (n.isEmpty()) throw error("unexpected '" + c + "'");
        return new RuleRef(n, at);
    }

    private Expr literal() {
        pos++;
        List<RegexNode> chars = new ArrayList<>();
        while (true) {
            if (pos >= src.length()) throw error("unterminated string");
            if (peek('"')) break;
            int cp = character();
            chars.add(RegexNode.ch(cp));
        }
        pos++;
        return new Terminal(new RegexNode.Concat(chars));
    }

    private int[] charClass() {
        pos++;
        boolean negate = peek('^');
        if (negate) pos++;
        List<int[]> pairs = new ArrayList<>();
        while (!peek(']')) {
            if (pos >= src.length()) throw error("unterminated character class");
            int lo = character(), hi = lo;
            if (peek('-') && pos + 1 < src.length() && src.charAt(pos + 1) != ']') {
                pos++;
                hi = character();
                if (hi < lo) throw error("character range out of order");
            }
            pairs.add(new int[] {lo, hi});
        }
        pos++;
        int[] set = CharRanges.normalize(pairs);
        return negate ? CharRanges.complement(set) : set;
    }

    /** One character of a literal or class, escapes decoded. */
    private int character() {
        int c = src.codePointAt(pos);
        pos += Character.charCount(c);
        if (c != '\\') return c;
        if (pos >= src.length()) throw error("trailing backslash");
        char e = src.charAt(pos++);
        return switch (e) {
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'U' -> hex(8);
            default -> e;
        };
    }

    private int hex(int digits) {
        if (pos + digits > src.length()) throw error("incomplete escape");
        try {
            int v = Integer.parseInt(src.substring(pos, pos + digits), 16);
            pos += digits;
            if (v > CharRanges.MAX) throw error("code point out of range");
            return v;
        } catch (NumberFormatException ex) {
            throw error("bad hex escape");
        }
    }

    private int number() {
        int start = pos;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) pos++;
        if (start == pos) throw error("expected a number");
        try {
            return Integer.parseInt(src.substring(start, pos));
        } catch (NumberFormatException ex) {
            throw error("number too large");
        }
    }

    private String name() {
        int start = pos;
        while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '-'
                || src.charAt(pos) == '_')) {
            pos++;
        }
        return src.substring(start, pos);
    }

    private void skipSpace() {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '#') {
                while (pos < src.length() && src.charAt(pos) != '\n') pos++;
            } else if (Character.isWhitespace(c)) {
                pos++;
            } else {
                return;
            }
        }
    }

    private boolean peek(char c) { return pos < src.length() && src.charAt(pos) == c; }

    private ConstraintException error(String what) { return error(what, pos); }

    private ConstraintException error(String what, int at) {
        return new ConstraintException("Invalid grammar at offset " + at + ": " + what + ".");
    }
}
