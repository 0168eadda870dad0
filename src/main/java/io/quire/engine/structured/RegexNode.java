package io.quire.engine.structured;

import java.util.List;

/**
 * A regular expression over Unicode code points, as the constraint compilers build it: from a
 * regex ({@link RegexParser}), a JSON Schema ({@link JsonSchemaRegex}) or a grammar
 * ({@link GbnfGrammar}). {@link Nfa} turns it into an automaton over the UTF-8 bytes.
 */
public sealed interface RegexNode {
    /** One code point out of {@code ranges}: sorted, disjoint, inclusive pairs {@code lo0, hi0, lo1, hi1...}. */
    record CharSet(int[] ranges) implements RegexNode {}

    record Concat(List<RegexNode> parts) implements RegexNode {}

    record Alt(List<RegexNode> options) implements RegexNode {}

    /** {@code node} {@code min} to {@code max} times; max -1: unbounded. */
    record Repeat(RegexNode node, int min, int max) implements RegexNode {}

    /**
     * {@code item (sep item)*}, or nothing as well when {@code optional}: built with one copy of
     * {@code item} (the regex form needs two, which doubles the automaton at every nesting level).
     */
    record SepList(RegexNode item, RegexNode sep, boolean optional) implements RegexNode {}

    /**
     * The items in order, each one whose {@code required} flag is false maybe left out, with
     * {@code sep} between those present (JSON object members): two copies of each item, where
     * spelling out which one comes first would need one per possible first item.
     */
    record Members(List<RegexNode> items, List<Boolean> required, RegexNode sep) implements RegexNode {}

    /** The empty string. */
    RegexNode EMPTY = new Concat(List.of());
    /** No string at all (an alternative that cannot be taken). */
    RegexNode NOTHING = new Alt(List.of());

    static RegexNode literal(String s) {
        List<RegexNode> parts = s.codePoints().<RegexNode>mapToObj(RegexNode::ch).toList();
        return parts.size() == 1 ? parts.getFirst() : new Concat(parts);
    }

    static RegexNode ch(int cp) { return new CharSet(new int[] {cp, cp}); }

    static RegexNode concat(RegexNode... parts) { return new Concat(List.of(parts)); }

    static RegexNode alt(RegexNode... options) { return new Alt(List.of(options)); }

    static RegexNode optional(RegexNode n) { return new Repeat(n, 0, 1); }

    static RegexNode star(RegexNode n) { return new Repeat(n, 0, -1); }
}
