package io.quire.api.tools;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code tool_choice} {@code required} or a named function, as vLLM serves them: the output is
 * constrained to JSON (by {@link #schema}) rather than to any model's call format, so a model that
 * does not know the format still makes a valid call. A named function's output is its arguments
 * object; {@code required}'s an array of {@code {"name", "parameters"}}.
 */
public final class ForcedToolCalls {
    private ForcedToolCalls() {}

    /** The JSON Schema the output must match. */
    public static JsonNode schema(ToolChoice choice, Map<String, JsonNode> parameters, boolean parallel) {
        if (choice.mode() == ToolChoice.Mode.NAMED) return parameters.get(choice.function());
        ArrayNode options = ToolJson.JSON.createArrayNode();
        for (Map.Entry<String, JsonNode> e : parameters.entrySet()) {
            ObjectNode call = options.addObject();
            call.put("type", "object");
            ObjectNode props = call.putObject("properties");
            props.putObject("name").put("const", e.getKey());
            props.set("parameters", e.getValue());
            call.putArray("required").add("name").add("parameters");
            call.put("additionalProperties", false);
        }
        ObjectNode schema = ToolJson.JSON.createObjectNode();
        schema.put("type", "array");
        schema.put("minItems", 1);
        if (!parallel) schema.put("maxItems", 1);
        schema.putObject("items").set("anyOf", options);
        return schema;
    }

    /** Reads the calls out of a forced output once it has ended; output that is not one stays content. */
    public static ToolCallStream open(ToolChoice choice, Map<String, JsonNode> parameters) {
        return new ToolCallStream() {
            final StringBuilder held = new StringBuilder();

            @Override
            public ParsedText push(String text) {
                held.append(text);
                return ParsedText.EMPTY;
            }

            @Override
            public ParsedText finish() {
                String all = held.toString();
                held.setLength(0);
                List<ParsedToolCall> calls = parse(choice, all);
                if (calls != null) return new ParsedText("", "", calls);
                return all.isEmpty() ? ParsedText.EMPTY : new ParsedText("", all, List.of());
            }
        };
    }

    static List<ParsedToolCall> parse(ToolChoice choice, String text) {
        JsonNode node = ToolJson.read(text.strip());
        if (node == null) return null;
        if (choice.mode() == ToolChoice.Mode.NAMED) {
            return node.isObject() ? List.of(new ParsedToolCall(choice.function(), ToolJson.JSON.writeValueAsString(node)))
                    : null;
        }
        if (!node.isArray() || node.isEmpty()) return null;
        List<ParsedToolCall> out = new ArrayList<>();
        for (JsonNode item : node) {
            ParsedToolCall call = ToolJson.call(item);
            if (call == null) return null;
            out.add(call);
        }
        return out;
    }
}
