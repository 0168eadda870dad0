package io.quire.api.tools;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.List;

/** JSON pieces the call formats share: a call object, arguments as compact JSON text. */
final class ToolJson {
    static final JsonMapper JSON = JsonMapper.builder().build();

    private ToolJson() {}

    /** A JSON value, or null when {@code text} is not exactly one. */
    static JsonNode read(String text) {
        try {
            JsonNode node = JSON.readTree(text);
            return node == null || node.isMissingNode() ? null : node;
        } catch (JacksonException e) {
            return null;
        }
    }

    /**
     * {@code {"name": ..., "arguments": {...}}} (or {@code "parameters"}, as Llama 3 writes it), or an
     * array of them; null when the text is anything else.
     */
    static List<ParsedToolCall> namedCalls(String text) {
        JsonNode node = read(text.strip());
        if (node == null) return null;
        List<ParsedToolCall> out = new ArrayList<>();
        if (node.isArray()) {
            for (JsonNode item : node) {
                ParsedToolCall call = call(item);
                if (call == null) return null;
                out.add(call);
            }
            return out.isEmpty() ? null : out;
        }
        ParsedToolCall call = call(node);
        return call == null ? null : List.of(call);
    }

    static ParsedToolCall call(JsonNode node) {
        if (node == null || !node.isObject()) return null;
        JsonNode name = node.get("name");
        if (name == null || !name.isString() || name.stringValue().isEmpty()) return null;
        JsonNode args = node.has("arguments") ? node.get("arguments") : node.get("parameters");
        String arguments = arguments(args);
        return arguments == null ? null : new ParsedToolCall(name.stringValue(), arguments);
    }

    /** Arguments as OpenAI sends them: a JSON object's text; a string holding one is taken as is. */
    static String arguments(JsonNode args) {
        if (args == null || args.isNull()) return "{}";
        if (args.isObject()) return JSON.writeValueAsString(args);
        if (args.isString()) {
            JsonNode inner = read(args.stringValue());
            return inner != null && inner.isObject() ? JSON.writeValueAsString(inner) : null;
        }
        return null;
    }

    /** Splits at {@code sep} where it stands outside strings, objects and arrays. */
    static List<String> splitTopLevel(String text, char sep) {
        List<String> parts = new ArrayList<>();
        int depth = 0, from = 0;
        boolean inString = false, escaped = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (inString) {
                if (escaped) escaped = false;
                else if (c == '\\') escaped = true;
                else if (c == '"') inString = false;
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
            } else if (c == sep && depth == 0) {
                parts.add(text.substring(from, i));
                from = i + 1;
            }
        }
        parts.add(text.substring(from));
        return parts;
    }
}
