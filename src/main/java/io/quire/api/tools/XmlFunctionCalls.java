package io.quire.api.tools;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Qwen3-Coder's calls (vLLM's {@code qwen3_coder}): inside {@code <tool_call>},
 * {@code <function=NAME>} holds one {@code <parameter=KEY>value</parameter>} per argument. Values
 * are written as text, so each is typed by the function's parameters schema: numbers, booleans,
 * objects and arrays are read as JSON, strings kept as written.
 */
final class XmlFunctionCalls {
    private static final Pattern FUNCTION = Pattern.compile("<function=([^>\\n]+)>(.*?)(?:</function>|$)",
            Pattern.DOTALL);
    private static final Pattern PARAMETER = Pattern.compile(
            "<parameter=([^>\\n]+)>(.*?)(?:</parameter>|(?=<parameter=)|$)", Pattern.DOTALL);

    private XmlFunctionCalls() {}

    static List<ParsedToolCall> parse(String body, Map<String, JsonNode> parameters) {
        List<ParsedToolCall> out = new ArrayList<>();
        Matcher f = FUNCTION.matcher(body);
        while (f.find()) {
            String name = f.group(1).strip();
            JsonNode schema = parameters.get(name);
            ObjectNode args = ToolJson.JSON.createObjectNode();
            Matcher p = PARAMETER.matcher(f.group(2));
            while (p.find()) {
                String key = p.group(1).strip();
                args.set(key, typed(trimNewlines(p.group(2)), propertyType(schema, key)));
            }
            out.add(new ParsedToolCall(name, ToolJson.JSON.writeValueAsString(args)));
        }
        return out.isEmpty() ? null : out;
    }

    private static String propertyType(JsonNode schema, String key) {
        if (schema == null) return null;
        JsonNode type = schema.path("properties").path(key).path("type");
        return type.isString() ? type.stringValue() : null;
    }

    /** A value as its schema types it; text that is not what the type says stays a string. */
    private static JsonNode typed(String value, String type) {
        if (type == null || "string".equals(type)) {
            if (type == null) {
                JsonNode json = ToolJson.read(value);
                if (json != null && !json.isString()) return json;
            }
            return ToolJson.JSON.getNodeFactory().stringNode(value);
        }
        JsonNode json = ToolJson.read(value.strip());
        boolean fits = json != null && switch (type) {
            case "integer" -> json.isIntegralNumber();
            case "number" -> json.isNumber();
            case "boolean" -> json.isBoolean();
            case "object" -> json.isObject();
            case "array" -> json.isArray();
            case "null" -> json.isNull();
            default -> true;
        };
        return fits ? json : ToolJson.JSON.getNodeFactory().stringNode(value);
    }

    /** The model puts each value on lines of its own: one newline after the tag and one before the end. */
    private static String trimNewlines(String v) {
        String s = v.startsWith("\n") ? v.substring(1) : v;
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }
}
