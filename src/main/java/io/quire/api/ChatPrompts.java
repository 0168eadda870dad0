package io.quire.api;

import io.quire.api.template.ChatTemplate;
import io.quire.api.wire.ChatMessage;
import io.quire.model.tokenizer.Tokenizer;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Chat messages to prompt tokens: renders the model's chat template, then tokenizes the result
 * with control tokens recognised (the template writes {@code <|im_start|>} and the like as
 * text) and without a second BOS when the template already wrote one.
 */
public final class ChatPrompts {
    private final ChatTemplate template;
    private final Tokenizer tokenizer;
    private final JsonMapper json;
    private final String bos;
    private final String eos;

    public ChatPrompts(ChatTemplate template, Tokenizer tokenizer, JsonMapper json) {
        this.template = template;
        this.tokenizer = tokenizer;
        this.json = json;
        this.bos = tokenizer.bosId() >= 0 ? tokenizer.piece(tokenizer.bosId()) : "";
        this.eos = tokenizer.eosId() >= 0 ? tokenizer.piece(tokenizer.eosId()) : "";
    }

    public ChatTemplate template() { return template; }

    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, Object> kwargs) {
        return render(messages, List.of(), addGenerationPrompt, kwargs);
    }

    /** With the functions the model may call ({@code tools} as the client sent them). */
    public String render(List<ChatMessage> messages, List<Object> tools, boolean addGenerationPrompt,
                         Map<String, Object> kwargs) {
        if (messages == null || messages.isEmpty()) {
            throw ApiException.badRequest("messages", "messages must be a non-empty array");
        }
        List<Map<String, Object>> maps = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) maps.add(toTemplateMessage(messages.get(i), i));
        return template.render(maps, tools, addGenerationPrompt, bos, eos, kwargs);
    }

    /**
     * As the request's fields say (null: not sent): with a generation prompt (the default), or, with
     * {@code continue_final_message}, leaving the last message open ({@link #renderContinuing}); the two
     * contradict, so continuing needs {@code add_generation_prompt: false}, as in vLLM (and transformers).
     */
    public String render(List<ChatMessage> messages, List<Object> tools, Boolean addGenerationPrompt,
                         Boolean continueFinalMessage, Map<String, Object> kwargs) {
        boolean generationPrompt = addGenerationPrompt == null || addGenerationPrompt;
        if (!Boolean.TRUE.equals(continueFinalMessage)) return render(messages, tools, generationPrompt, kwargs);
        if (generationPrompt) {
            throw ApiException.badRequest("continue_final_message", "Cannot set both continue_final_message and"
                    + " add_generation_prompt to True; send add_generation_prompt: false to continue the final"
                    + " message.");
        }
        return renderContinuing(messages, tools, kwargs);
    }

    /**
     * As {@link #render} without a generation prompt, leaving the last message open for the model to
     * continue (vLLM's {@code continue_final_message}, done as transformers does it): the rendering is cut
     * right after the last occurrence of that message's text, dropping what the template closes it with.
     */
    public String renderContinuing(List<ChatMessage> messages, List<Object> tools, Map<String, Object> kwargs) {
        String rendered = render(messages, tools, false, kwargs);
        String last = lastContent(messages);
        if (last == null || last.isEmpty()) {
            // nothing to find, so nothing would be left open: transformers refuses it too
            throw ApiException.badRequest("continue_final_message", "continue_final_message needs a final message"
                    + " with text to continue");
        }
        int at = rendered.lastIndexOf(last);
        if (at < 0) {
            last = last.strip();
            at = rendered.lastIndexOf(last);
        }
        if (at < 0) {
            throw ApiException.badRequest("continue_final_message", "continue_final_message is set but the final"
                    + " message does not appear in the chat after applying the chat template");
        }
        return rendered.substring(0, at + last.length());
    }

    /** The last message's text (text parts joined, as the template gets it), or null for none. */
    public static String lastContent(List<ChatMessage> messages) {
        if (messages == null || messages.isEmpty() || messages.getLast() == null) return null;
        return content(messages.getLast().content(), messages.size() - 1);
    }

    /**
     * Tokenizes a rendered conversation; {@code addSpecial} adds BOS unless the text starts with it.
     */
    public int[] tokenize(String rendered, boolean addSpecial) {
        boolean addBos = addSpecial && !(bos.isEmpty() || rendered.startsWith(bos));
        return tokenizer.encode(rendered, addBos, true);
    }

    /** Only the fields a client sent, so that templates' {@code 'tool_calls' in message} tests work. */
    private Map<String, Object> toTemplateMessage(ChatMessage m, int i) {
        if (m == null) throw ApiException.badRequest("messages", "messages[" + i + "] is null");
        if (m.role() == null || m.role().isBlank()) throw ApiException.badRequest("messages", "messages[" + i
                + "].role is required");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("role", m.role());
        String content = content(m.content(), i);
        if (content != null) out.put("content", content);
        if (m.name() != null) out.put("name", m.name());
        if (m.toolCalls() != null && !m.toolCalls().isNull()) out.put("tool_calls",
                json.convertValue(argumentsAsObjects(checkedToolCalls(m.toolCalls(), i)), Object.class));
        if (m.toolCallId() != null) out.put("tool_call_id", m.toolCallId());
        return out;
    }

    /**
     * {@code tool_calls} reach the template as sent, so their JSON types are checked here, as the
     * strict binding checks the typed fields ({@code tool_call_id}): an array of objects whose
     * {@code id}, {@code type} and {@code function.name} are strings, {@code function} an object and
     * {@code function.arguments} JSON text (or, as some clients send it, an object).
     */
    private static JsonNode checkedToolCalls(JsonNode calls, int i) {
        String where = "messages[" + i + "].tool_calls";
        if (!calls.isArray()) throw typeMismatch(where, "an array", calls);
        for (int c = 0; c < calls.size(); c++) {
            JsonNode call = calls.get(c);
            String at = where + "[" + c + "]";
            if (!call.isObject()) throw typeMismatch(at, "an object", call);
            checkString(call, "id", at);
            checkString(call, "type", at);
            JsonNode function = call.get("function");
            if (function == null || function.isNull()) continue;
            if (!function.isObject()) throw typeMismatch(at + ".function", "an object", function);
            checkString(function, "name", at + ".function");
            JsonNode args = function.get("arguments");
            if (args != null && !args.isNull() && !args.isString() && !args.isObject()) {
                throw typeMismatch(at + ".function.arguments", "a string", args);
            }
        }
        return calls;
    }

    private static void checkString(JsonNode parent, String field, String at) {
        JsonNode v = parent.get(field);
        if (v != null && !v.isNull() && !v.isString()) throw typeMismatch(at + "." + field, "a string", v);
    }

    private static ApiException typeMismatch(String where, String expected, JsonNode value) {
        return ApiException.badRequest("messages", BindingErrors.typeMismatch(where, expected, value));
    }

    /**
     * Earlier calls' {@code function.arguments} are JSON texts on the wire, but templates print them
     * with {@code tojson} or iterate them: as vLLM does, a text holding a JSON object becomes that object.
     */
    private JsonNode argumentsAsObjects(JsonNode toolCalls) {
        if (!toolCalls.isArray()) return toolCalls;
        JsonNode copy = toolCalls.deepCopy();
        for (JsonNode call : copy) {
            JsonNode function = call.get("function");
            if (function == null || !function.isObject()) continue;
            JsonNode args = function.get("arguments");
            if (args == null || !args.isString()) continue;
            try {
                JsonNode parsed = json.readTree(args.stringValue());
                if (parsed != null && parsed.isObject()) ((ObjectNode) function).set("arguments", parsed);
            } catch (JacksonException e) {
                // Not JSON: the template gets the text as sent.
            }
        }
        return copy;
    }

    /** A string, or text parts joined by newlines (as vLLM does); other part types are refused. */
    private static String content(JsonNode c, int i) {
        if (c == null || c.isNull()) return null;
        if (c.isString()) return c.stringValue();
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (int p = 0; p < c.size(); p++) {
                JsonNode part = c.get(p);
                JsonNode type = part.get("type");
                JsonNode text = part.get("text");
                if (type == null || !"text".equals(type.asString()) || text == null || !text.isString()) {
                    throw ApiException.badRequest("messages", "messages[" + i + "].content[" + p
                            + "]: only {\"type\": \"text\", \"text\": ...} parts are supported");
                }
                if (!sb.isEmpty()) sb.append('\n');
                sb.append(text.stringValue());
            }
            return sb.toString();
        }
        throw ApiException.badRequest("messages", "messages[" + i
                + "].content must be a string or an array of text parts");
    }
}
