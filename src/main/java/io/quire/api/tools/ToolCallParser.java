package io.quire.api.tools;

import tools.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * One model family's way of writing function calls into its output, under vLLM's parser names
 * ({@code --tool-call-parser}). {@link #open} gives a parser for one choice's stream.
 */
public interface ToolCallParser {
    /** The names {@code quire.tool-call-parser} takes. */
    List<String> NAMES = List.of("hermes", "llama3_json", "mistral", "qwen3_coder");

    String name();

    /**
     * A parser for one choice; {@code parameters} maps each offered function to its parameters
     * schema (formats that write arguments as text use it to type them).
     */
    ToolCallStream open(Map<String, JsonNode> parameters);

    /** The parser of that name; throws IllegalArgumentException listing the names for another. */
    static ToolCallParser named(String name) {
        return switch (name) {
            // Qwen2.5 and Qwen3 write Hermes' <tool_call> JSON, as vLLM's docs say.
            case "hermes" -> new SpanToolCallParser("hermes", "<tool_call>", "</tool_call>",
                    (body, params) -> ToolJson.namedCalls(body));
            case "mistral" -> new SpanToolCallParser("mistral", "[TOOL_CALLS]", null,
                    (body, params) -> MistralCalls.parse(body));
            case "qwen3_coder" -> new SpanToolCallParser("qwen3_coder", "<tool_call>", "</tool_call>",
                    XmlFunctionCalls::parse);
            case "llama3_json" -> new Llama3JsonParser();
            default -> throw new IllegalArgumentException("unknown tool-call parser '" + name + "'; known: "
                    + String.join(", ", NAMES));
        };
    }
}
