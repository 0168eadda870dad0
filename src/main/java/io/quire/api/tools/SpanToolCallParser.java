package io.quire.api.tools;

import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Formats that wrap calls in markers: Hermes/Qwen's {@code <tool_call>...</tool_call>}, Mistral's
 * {@code [TOOL_CALLS]...}. A span whose body does not parse is given back as content, markers and
 * all, as vLLM does: the client sees what the model wrote.
 */
final class SpanToolCallParser implements ToolCallParser {
    /** Calls in a span's body, or null when it is not a call. */
    interface BodyParser {
        List<ParsedToolCall> parse(String body, Map<String, JsonNode> parameters);
    }

    private final String name;
    private final String start;
    private final String end;
    private final BodyParser body;

    SpanToolCallParser(String name, String start, String end, BodyParser body) {
        this.name = name;
        this.start = start;
        this.end = end;
        this.body = body;
    }

    @Override
    public String name() { return name; }

    @Override
    public ToolCallStream open(Map<String, JsonNode> parameters) {
        return new ToolCallStream() {
            final StringBuilder content = new StringBuilder();
            final List<ParsedToolCall> calls = new ArrayList<>();
            final MarkedSpans spans = new MarkedSpans(start, end, new MarkedSpans.Sink() {
                @Override
                public void outside(String text) { content.append(text); }

                @Override
                public void span(String text, boolean closed) {
                    List<ParsedToolCall> found = body.parse(text, parameters);
                    if (found != null) {
                        calls.addAll(found);
                    } else {
                        content.append(start).append(text).append(closed && end != null ? end : "");
                    }
                }
            });

            @Override
            public ParsedText push(String text) {
                spans.push(text);
                return drain();
            }

            @Override
            public ParsedText finish() {
                spans.finish();
                return drain();
            }

            private ParsedText drain() {
                if (content.isEmpty() && calls.isEmpty()) return ParsedText.EMPTY;
                ParsedText out = new ParsedText("", content.toString(), List.copyOf(calls));
                content.setLength(0);
                calls.clear();
                return out;
            }
        };
    }
}
