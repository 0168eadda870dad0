package io.quire.api.template;

import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * Serializes template values the way Hugging Face's {@code tojson} filter does (Python's
 * {@code json.dumps(x, ensure_ascii=False, indent=indent)}): {@code ", "} and {@code ": "}
 * separators without indent, non-ASCII characters kept. Templates compare its output with what
 * the model saw in training, so the spacing matters.
 */
final class PythonJson {
    private PythonJson() {}

    static String dumps(Object value, Integer indent) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, indent, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, Integer indent, int depth) {
        switch (v) {
            case null -> sb.append("null");
            case String s -> string(sb, s);
            case Character c -> string(sb, c.toString());
            case Boolean b -> sb.append(b ? "true" : "false");
            case Double d -> number(sb, d);
            case Float f -> number(sb, f.doubleValue());
            case Number n -> sb.append(n);
            case Map<?, ?> m -> {
                if (m.isEmpty()) { sb.append("{}"); return; }
                sb.append('{');
                Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
                while (it.hasNext()) {
                    Map.Entry<?, ?> e = it.next();
                    newline(sb, indent, depth + 1);
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(": ");
                    write(sb, e.getValue(), indent, depth + 1);
                    if (it.hasNext()) sb.append(indent == null ? ", " : ",");
                }
                newline(sb, indent, depth);
                sb.append('}');
            }
            case Collection<?> c -> {
                if (c.isEmpty()) { sb.append("[]"); return; }
                sb.append('[');
                Iterator<?> it = c.iterator();
                while (it.hasNext()) {
                    Object e = it.next();
                    newline(sb, indent, depth + 1);
                    write(sb, e, indent, depth + 1);
                    if (it.hasNext()) sb.append(indent == null ? ", " : ",");
                }
                newline(sb, indent, depth);
                sb.append(']');
            }
            case Object[] a -> write(sb, java.util.Arrays.asList(a), indent, depth);
            default -> string(sb, v.toString());
        }
    }

    private static void number(StringBuilder sb, double d) {
        if (Double.isNaN(d)) sb.append("NaN");
        else if (Double.isInfinite(d)) sb.append(d > 0 ? "Infinity" : "-Infinity");
        else sb.append(d);
    }

    private static void newline(StringBuilder sb, Integer indent, int depth) {
        if (indent == null) return;
        sb.append('\n');
        sb.repeat(' ', indent * depth);
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
