package io.quire.engine.structured;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GBNF grammar (llama.cpp's EBNF: {@code name ::= ...} rules, {@code "literals"}, {@code [classes]},
 * {@code .}, groups, {@code | * + ? {m,n}}, {@code #} comments; the start rule is {@code root}).
 * It becomes a regular expression by inlining rule references; a rule that refers to itself,
 * directly or not, is unfolded {@link #MAX_RULE_DEPTH} levels deep and its recursive alternatives
 * dropped below that. So every output parses with the grammar, and nesting is bounded (a
 * recursive list such as {@code list ::= item list | item} gets at most that many more items;
 * write it {@code item+} for any number).
 */
final class GbnfGrammar {
    static final int MAX_RULE_DEPTH = 4;
    /** Most nodes the unfolded expression may have. */
    static final int MAX_NODES = 500_000;

    private sealed interface Expr {}
    private record Terminal(RegexNode node) implements Expr {}
    private record RuleRef(String name, int offset) implements Expr {}
    private record Seq(List<Expr> items) implements Expr {}
    private record Choice(List<Expr> options) implements Expr {}
    private record Rep(Expr e, int min, int max) implements Expr {}

    private final Map<String, Expr> rules;

    private GbnfGrammar(Map<String, Expr> rules) {
        this.rules = rules;
    }

    static GbnfGrammar parse(String text) {
        return new GbnfGrammar(new Parser(text).rules());
    }

    RegexNode toRegex() {
        if (!rules.containsKey("root")) throw new ConstraintException("The grammar has no 'root' rule.");
        return new Unfolder().expand(rules.get("root"));
    }

    private final class Unfolder {
        private final Map<String, Integer> depth = new HashMap<>();
        private int nodes;

        RegexNode expand(Expr e) {
            if (++nodes > MAX_NODES) {
                throw new ConstraintException("The grammar is too large once its rules are inlined (more than "
                        + MAX_NODES + " parts); recursion " + MAX_RULE_DEPTH + " levels deep is unfolded.");
            }
            return switch (e) {
                case Terminal t -> t.node();
                case Seq s -> new RegexNode.Concat(s.items().stream().map(this::expand).toList());
                case Choice c -> new RegexNode.Alt(c.options().stream().map(this::expand).toList());
                case Rep r -> new RegexNode.Repeat(expand(r.e()), r.min(), r.max());
                case RuleRef ref -> {
                    Expr body = rules.get(ref.name());
                    if (body == null) {
                        throw new ConstraintException("The grammar refers to an undefined rule '" + ref.name()
                                + "' (at offset " + ref.offset() + ").");
                    }
                    int d = depth.merge(ref.name(), 1, Integer::sum);
                    try {
                        yield d > MAX_RULE_DEPTH ? RegexNode.NOTHING : expand(body);
                    } finally {
                        depth.merge(ref.name(), -1, Integer::sum);
                    }
                }
            };
        }
    }

    /** Recursive descent over the grammar text; newlines are spaces, a rule ends where {@code name ::=} begins another. */
    private static final class Parser {
        private final String src;
        private int pos;

        Parser(String src) {
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
}
