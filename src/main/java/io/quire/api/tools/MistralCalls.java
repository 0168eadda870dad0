package io.quire.api.tools;

import java.util.ArrayList;
import java.util.List;

/**
 * What follows Mistral's {@code [TOOL_CALLS]}: a JSON array of {@code {"name", "arguments"}}
 * (tokenizer v3 to v7), or {@code name[ARGS]{...}} per call, calls joined by more
 * {@code [TOOL_CALLS]} (v11 and later).
 */
final class MistralCalls {
    private MistralCalls() {}

    static List<ParsedToolCall> parse(String body) {
        String text = body.strip();
        if (text.startsWith("[") || text.startsWith("{")) return ToolJson.namedCalls(text);
        List<ParsedToolCall> out = new ArrayList<>();
        for (String part : text.split("\\[TOOL_CALLS]")) {
            if (part.isBlank()) continue;
            int args = part.indexOf("[ARGS]");
            if (args <= 0) return null;
            String name = part.substring(0, args).strip();
            int callId = name.indexOf("[CALL_ID]");
            if (callId >= 0) name = name.substring(0, callId).strip();
            var json = ToolJson.read(part.substring(args + "[ARGS]".length()).strip());
            String arguments = json == null ? null : ToolJson.arguments(json);
            if (name.isEmpty() || arguments == null) return null;
            out.add(new ParsedToolCall(name, arguments));
        }
        return out.isEmpty() ? null : out;
    }
}
