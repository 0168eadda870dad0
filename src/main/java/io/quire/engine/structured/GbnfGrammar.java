package io.quire.engine.structured;

import java.util.HashMap;
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

    /** A rule body as parsed ({@link GbnfParser}). */
    sealed interface Expr {}
    record Terminal(RegexNode node) implements Expr {}
    record RuleRef(String name, int offset) implements Expr {}
    record Seq(List<Expr> items) implements Expr {}
    record Choice(List<Expr> options) implements Expr {}
    record Rep(Expr e, int min, int max) implements Expr {}

    private final Map<String, Expr> rules;

    private GbnfGrammar(Map<String, Expr> rules) {
        this.rules = rules;
    }

    static GbnfGrammar parse(String text) {
        return new GbnfGrammar(new GbnfParser(text).rules());
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
}
