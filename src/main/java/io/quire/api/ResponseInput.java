package io.quire.api;

import io.quire.api.wire.ChatMessage;
import io.quire.api.wire.ResponsesRequest;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.databind.node.StringNode;

import java.util.ArrayList;
import java.util.List;

/**
 * A Responses API request in the chat endpoint's terms, so the same template, tools and parsers serve
 * it: the instructions and input items as chat messages (a function call item as an assistant message
 * calling it, consecutive calls and the message before them one assistant turn; a function call output
 * as a tool message; reasoning items skipped), and the API's flat function tools and tool choice in the
 * chat shape.
 */
final class ResponseInput {
    private ResponseInput() {}

    /** The instructions as a system message, then a string input as a user message, or the input items. */
    static List<ChatMessage> messages(ResponsesRequest r, JsonMapper json) {
        List<ChatMessage> out = new ArrayList<>();
        // as vLLM, empty instructions add no system message (which would replace a template's default one)
        if (r.instructions() != null && !r.instructions().isEmpty()) out.add(message("system", r.instructions()));
        JsonNode input = r.input();
        if (input == null || input.isNull()) throw ApiException.badRequest("input", "input is required");
        if (input.isString()) {
            out.add(message("user", input.stringValue()));
            return out;
        }
        if (!input.isArray() || input.isEmpty()) {
            throw ApiException.badRequest("input", "input must be a string or a non-empty array of items");
        }
        ArrayNode calls = null;  // consecutive function calls, made one assistant message
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            String at = "input[" + i + "]";
            if (!item.isObject()) throw ApiException.badRequest("input", at + " must be an object");
            String type = item.path("type").isString() ? item.get("type").stringValue() : "message";
            if (type.equals("function_call")) {
                if (calls == null) {
                    // the calls of a turn that said something first join its message: one assistant turn
                    calls = json.createArrayNode();
                    ChatMessage before = out.isEmpty() ? null : out.getLast();
                    boolean joins = before != null && before.role().equals("assistant") && before.toolCalls() == null;
                    if (joins) out.removeLast();
                    out.add(new ChatMessage("assistant", joins ? before.content() : null, null, calls, null));
                }
                calls.add(call(item, at, json));
                continue;
            }
            if (type.equals("reasoning")) {
                // earlier thinking, sent back with the output it came with: chat templates drop it from the
                // history, so it adds nothing to the prompt; encrypted thinking was never made here
                if (item.has("encrypted_content") && !item.get("encrypted_content").isNull()) {
                    throw ApiException.badRequest("input", at + ".encrypted_content: encrypted reasoning is not"
                            + " implemented");
                }
                continue;
            }
            calls = null;
            switch (type) {
                case "message" -> out.add(message(item, at));
                case "function_call_output" -> out.add(new ChatMessage("tool",
                        StringNode.valueOf(string(item, "output", at)), null, null, string(item, "call_id", at)));
                default -> throw ApiException.badRequest("input", at + ".type '" + type + "' is not supported by"
                        + " this server (messages, function calls, their outputs and reasoning are; item references"
                        + " and built-in tools' items are not implemented)");
            }
        }
        return out;
    }

    /** A function call item as the chat shape's tool call. */
    private static ObjectNode call(JsonNode item, String at, JsonMapper json) {
        ObjectNode call = json.createObjectNode();
        call.put("id", string(item, "call_id", at));
        call.put("type", "function");
        call.putObject("function").put("name", string(item, "name", at)).put("arguments",
                string(item, "arguments", at));
        return call;
    }

    private static String string(JsonNode item, String field, String at) {
        JsonNode v = item.get(field);
        if (v == null || !v.isString()) throw ApiException.badRequest("input", at + "." + field + " must be a string");
        return v.stringValue();
    }

    /** A message item: role user, assistant, system or developer (a system message), text content. */
    private static ChatMessage message(JsonNode item, String at) {
        JsonNode role = item.get("role");
        if (role == null || !role.isString() || !List.of("user", "assistant", "system", "developer")
                .contains(role.stringValue())) {
            throw ApiException.badRequest("input", at + ".role must be user, assistant, system or developer");
        }
        String r = role.stringValue().equals("developer") ? "system" : role.stringValue();
        return message(r, text(item.get("content"), at + ".content"));
    }

    /** A string, or text parts ({@code input_text}, {@code output_text}) joined by newlines. */
    private static String text(JsonNode content, String at) {
        if (content != null && content.isString()) return content.stringValue();
        if (content == null || !content.isArray()) {
            throw ApiException.badRequest("input", at + " must be a string or an array of text parts");
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < content.size(); i++) {
            JsonNode part = content.get(i);
            JsonNode type = part.get("type"), text = part.get("text");
            boolean isText = type != null && type.isString() && List.of("input_text", "output_text", "text")
                    .contains(type.stringValue());
            if (!isText || text == null || !text.isString()) {
                throw ApiException.badRequest("input", at + "[" + i + "] must be a text part ({\"type\": "
                        + "\"input_text\", \"text\": ...}); other modalities are not implemented");
            }
            if (!sb.isEmpty()) sb.append('\n');
            sb.append(text.stringValue());
        }
        return sb.toString();
    }

    private static ChatMessage message(String role, String text) {
        return new ChatMessage(role, StringNode.valueOf(text), null, null, null);
    }

    /**
     * The API's function tools ({@code {"type": "function", "name", "description", "parameters",
     * "strict"}}) in the chat shape ({@code {"type": "function", "function": {...}}}); built-in tools
     * (web search, file search, computer use...) are not implemented.
     */
    static JsonNode chatTools(JsonNode tools, JsonMapper json) {
        if (tools == null || tools.isNull()) return null;
        if (!tools.isArray()) throw ApiException.badRequest("tools", "tools must be an array of tools");
        ArrayNode out = json.createArrayNode();
        for (int i = 0; i < tools.size(); i++) {
            JsonNode tool = tools.get(i);
            String type = tool.path("type").asString("");
            if (!tool.isObject() || !type.equals("function")) {
                throw ApiException.badRequest("tools", "tools[" + i + "]: only function tools are implemented, got "
                        + (type.isEmpty() ? tool.toString() : "type '" + type + "'"));
            }
            ObjectNode function = ((ObjectNode) tool).deepCopy();
            function.remove("type");
            ObjectNode chat = json.createObjectNode();
            chat.put("type", "function");
            chat.set("function", function);
            out.add(chat);
        }
        return out;
    }

    /** "none", "auto", "required", or {@code {"type": "function", "name"}} in the chat shape. */
    static JsonNode chatToolChoice(JsonNode choice, JsonMapper json) {
        if (choice == null || choice.isNull() || choice.isString()) return choice;
        if (choice.isObject() && choice.path("type").asString("").equals("function") && choice.has("name")) {
            ObjectNode chat = json.createObjectNode();
            chat.put("type", "function");
            chat.putObject("function").set("name", choice.get("name"));
            return chat;
        }
        throw ApiException.badRequest("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or"
                + " {\"type\": \"function\", \"name\": ...}; other choices are not implemented");
    }
}
