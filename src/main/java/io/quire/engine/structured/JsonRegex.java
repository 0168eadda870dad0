package io.quire.engine.structured;

import java.util.List;

import static io.quire.engine.structured.RegexNode.alt;
import static io.quire.engine.structured.RegexNode.concat;
import static io.quire.engine.structured.RegexNode.literal;
import static io.quire.engine.structured.RegexNode.optional;
import static io.quire.engine.structured.RegexNode.star;

/** The pieces of JSON's syntax as regular expressions: whitespace, strings, numbers, any value up to a depth. */
final class JsonRegex {
    /** Nesting levels of arrays and objects an untyped value ({@code {}}, JSON mode) may have. */
    static final int ANY_DEPTH = 4;

    /** Between tokens: nothing, a space, or a line break and up to 20 spaces of indentation (as llama.cpp's). */
    static final RegexNode WS = optional(alt(literal(" "), concat(literal("\n"), new RegexNode.Repeat(literal(" "), 0, 20))));
    /** Characters a JSON string may hold unescaped: not a quote, a backslash or a control character. */
    static final int[] UNESCAPED = CharRanges.complement(CharRanges.of(new int[] {0, 0x1F, '"', '"', '\\', '\\'}));
    /** One character of a string's content: unescaped or an escape sequence. */
    static final RegexNode STRING_CHAR = alt(new RegexNode.CharSet(UNESCAPED),
            RegexParser.parse("\\\\([\"\\\\/bfnrt]|u[0-9a-fA-F]{4})"));
    static final RegexNode STRING = concat(literal("\""), star(STRING_CHAR), literal("\""));
    static final RegexNode INTEGER = RegexParser.parse("-?(0|[1-9][0-9]*)");
    static final RegexNode NUMBER = RegexParser.parse("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]{1,2})?");
    static final RegexNode BOOLEAN = alt(literal("true"), literal("false"));
    static final RegexNode NULL = literal("null");

    private JsonRegex() {}

    /** Any JSON value with at most {@code depth} levels of nesting. */
    static RegexNode anyValue(int depth) {
        if (depth == 0) return alt(STRING, NUMBER, BOOLEAN, NULL);
        RegexNode inner = anyValue(depth - 1);
        return alt(STRING, NUMBER, BOOLEAN, NULL, array(inner), object(inner));
    }

    /** {@code [ item, ... ]}, any length. */
    static RegexNode array(RegexNode item) {
        return concat(literal("["), WS, new RegexNode.SepList(item, comma(), true), WS, literal("]"));
    }

    /** An object with any keys, each value matching {@code value}. */
    static RegexNode object(RegexNode value) {
        RegexNode member = concat(STRING, WS, literal(":"), WS, value);
        return concat(literal("{"), WS, new RegexNode.SepList(member, comma(), true), WS, literal("}"));
    }

    static RegexNode comma() { return concat(WS, literal(","), WS); }

    /** A JSON string literal for {@code s}, quoted and escaped. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    static RegexNode alts(List<RegexNode> options) {
        return options.size() == 1 ? options.getFirst() : new RegexNode.Alt(options);
    }
}
