package io.quire.api;

import io.quire.api.tools.ToolChoice;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A chat request's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}, checked:
 * each tool {@code {"type": "function", "function": {"name", "description"?, "parameters"?}}},
 * names as OpenAI allows them and unique, and a named choice that names one of them.
 *
 * @param forTemplate the tools as the chat template gets them (Hugging Face's {@code tools} variable)
 * @param parameters  each function's parameters schema ({@code {"type": "object"}} when none is given)
 */
record RequestedTools(List<Object> forTemplate, Map<String, JsonNode> parameters, ToolChoice choice,
                      boolean parallel) {
    static final RequestedTools NONE = new RequestedTools(List.of(), Map.of(), ToolChoice.NONE, true);
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    boolean any() { return !parameters.isEmpty(); }

    static RequestedTools of(JsonNode tools, JsonNode toolChoice, Boolean parallelToolCalls, JsonMapper json) {
        Map<String, JsonNode> parameters = new LinkedHashMap<>();
        List<Object> forTemplate = new ArrayList<>();
        if (tools != null && !tools.isNull()) {
            if (!tools.isArray()) throw ApiException.badRequest("tools", "tools must be an array of tools");
            for (int i = 0; i < tools.size(); i++) {
                JsonNode tool = tools.get(i);
                String where = "tools[" + i + "]";
                if (!tool.isObject() || !"function".equals(tool.path("type").asString(""))) {
                    throw ApiException.badRequest("tools", where + " must be {\"type\": \"function\", \"function\": {...}}");
                }
                JsonNode f = tool.get("function");
                if (f == null || !f.isObject()) throw ApiException.badRequest("tools", where + ".function must be an object");
                JsonNode name = f.get("name");
                if (name == null || !name.isString() || !NAME.matcher(name.stringValue()).matches()) {
                    throw ApiException.badRequest("tools", where + ".function.name must be 1 to 64 letters, digits,"
                            + " underscores or dashes");
                }
                JsonNode description = f.get("description");
                if (description != null && !description.isNull() && !description.isString()) {
                    throw ApiException.badRequest("tools", where + ".function.description must be a string");
                }
                JsonNode params = f.get("parameters");
                if (params != null && !params.isNull() && !params.isObject()) {
                    throw ApiException.badRequest("tools", where + ".function.parameters must be a JSON Schema object");
                }
                if (parameters.containsKey(name.stringValue())) {
                    throw ApiException.badRequest("tools", where + ": a second function named '" + name.stringValue() + "'");
                }
                parameters.put(name.stringValue(), params == null || params.isNull()
                        ? json.createObjectNode().put("type", "object") : params);
                forTemplate.add(json.convertValue(tool, Object.class));
            }
        }
        ToolChoice choice = choice(toolChoice, parameters);
        if (choice.mode() == ToolChoice.Mode.NAMED) {
            // the output is held to this schema, so a call comes out only if it describes an object
            JsonNode type = parameters.get(choice.function()).get("type");
            if (type != null && !(type.isString() && type.stringValue().equals("object"))) {
                throw ApiException.badRequest("tool_choice", "tool_choice names function '" + choice.function()
                        + "', whose parameters are not an object schema (type " + type + "): a call's arguments"
                        + " are an object");
            }
        }
        boolean parallel = parallelToolCalls == null || parallelToolCalls;
        if (parameters.isEmpty() && choice.mode() == ToolChoice.Mode.NONE) return NONE;
        return new RequestedTools(List.copyOf(forTemplate), Map.copyOf(parameters), choice, parallel);
    }

    private static ToolChoice choice(JsonNode c, Map<String, JsonNode> tools) {
        if (c == null || c.isNull()) return tools.isEmpty() ? ToolChoice.NONE : ToolChoice.AUTO;
        if (c.isString()) {
            ToolChoice choice = switch (c.stringValue()) {
                case "none" -> ToolChoice.NONE;
                case "auto" -> tools.isEmpty() ? ToolChoice.NONE : ToolChoice.AUTO;
                case "required" -> ToolChoice.REQUIRED;
                default -> throw ApiException.badRequest("tool_choice", "tool_choice must be \"none\", \"auto\","
                        + " \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}");
            };
            if (choice == ToolChoice.REQUIRED && tools.isEmpty()) {
                throw ApiException.badRequest("tool_choice", "tool_choice \"required\" needs tools");
            }
            return choice;
        }
        JsonNode name = c.path("function").path("name");
        if (!c.isObject() || !"function".equals(c.path("type").asString("")) || !name.isString()) {
            throw ApiException.badRequest("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\""
                    + " or {\"type\": \"function\", \"function\": {\"name\": ...}}");
        }
        if (!tools.containsKey(name.stringValue())) {
            throw ApiException.badRequest("tool_choice", "tool_choice names function '" + name.stringValue()
                    + "', which is not in tools");
        }
        return ToolChoice.named(name.stringValue());
    }
}
