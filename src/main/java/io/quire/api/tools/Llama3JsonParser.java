package io.quire.api.tools;

import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Llama 3.1-3.3's JSON calls (vLLM's {@code llama3_json}): an output that begins with
 * {@code <|python_tag|>} or {@code {} is one or more {@code {"name", "parameters"}} objects joined
 * by {@code ;}; any other output is content. The whole call has to be read before it is known to
 * be one, so such an output is told at its end.
 */
final class Llama3JsonParser implements ToolCallParser {
    private static final String PYTHON_TAG = "<|python_tag|>";

    @Override
    public String name() { return "llama3_json"; }

    @Override
    public ToolCallStream open(Map<String, JsonNode> parameters) {
        return new ToolCallStream() {
            final StringBuilder held = new StringBuilder();
            /** Null: not known yet whether the output is calls. */
            Boolean calls;

            @Override
            public ParsedText push(String text) {
                if (Boolean.FALSE.equals(calls)) return content(text);
                held.append(text);
                if (calls == null) calls = decide(held);
                if (Boolean.FALSE.equals(calls)) {
                    String all = held.toString();
                    held.setLength(0);
                    return content(all);
                }
                return ParsedText.EMPTY;
            }

            @Override
            public ParsedText finish() {
                String all = held.toString();
                held.setLength(0);
                if (!Boolean.TRUE.equals(calls)) return content(all);
                List<ParsedToolCall> found = parse(all);
                return found == null ? content(all) : new ParsedText("", "", found);
            }
        };
    }

    /** True or false once the output's start tells; null while it could still go either way. */
    private static Boolean decide(CharSequence held) {
        String s = held.toString().stripLeading();
        if (s.isEmpty()) return null;
        if (s.startsWith("{") || s.startsWith(PYTHON_TAG)) return true;
        return PYTHON_TAG.startsWith(s) ? null : false;
    }

    private static List<ParsedToolCall> parse(String text) {
        String s = text.strip();
        if (s.startsWith(PYTHON_TAG)) s = s.substring(PYTHON_TAG.length()).strip();
        List<ParsedToolCall> out = new ArrayList<>();
        for (String part : ToolJson.splitTopLevel(s, ';')) {
            if (part.isBlank()) continue;
            ParsedToolCall call = ToolJson.call(ToolJson.read(part.strip()));
            if (call == null) return null;
            out.add(call);
        }
        return out.isEmpty() ? null : out;
    }

    private static ParsedText content(String text) {
        return text.isEmpty() ? ParsedText.EMPTY : new ParsedText("", text, List.of());
    }
}
