package io.quire.api;

import io.quire.model.tokenizer.Tokenizer;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The prompts of a completions {@code prompt} or an embeddings {@code input}: a string, an array of
 * strings, an array of token ids, or an array of token-id arrays (OpenAI's four shapes), each
 * tokenized or checked against the vocabulary. Text is tokenized as data, never interpreted.
 */
final class PromptInputs {
    /** Most prompts in one request (OpenAI's limit for a batched completion and for embeddings). */
    static final int MAX_PROMPTS = 2048;

    /** One prompt: its text (for echo) and its tokens. */
    record Prompt(String text, int[] tokens) {}

    private PromptInputs() {}

    /** The prompts in {@code value}, sent as the field {@code field}; a 400 naming it when malformed or empty. */
    static List<Prompt> read(JsonNode value, String field, boolean addSpecial, Tokenizer tok) {
        if (value == null || value.isNull()) throw ApiException.badRequest(field, field + " is required");
        if (value.isString()) return List.of(textPrompt(value.stringValue(), field, addSpecial, tok));
        if (!value.isArray() || value.isEmpty()) {
            throw ApiException.badRequest(field, field + " must be a string, an array of strings,"
                    + " an array of token ids or an array of token-id arrays");
        }
        JsonNode first = value.get(0);
        if (first.isIntegralNumber()) return List.of(tokenPrompt(value, field, tok));
        if (value.size() > MAX_PROMPTS) {
            throw ApiException.badRequest(field,
                    "at most " + MAX_PROMPTS + " prompts per request, got " + value.size());
        }
        List<Prompt> out = new ArrayList<>(value.size());
        for (int i = 0; i < value.size(); i++) {
            JsonNode p = value.get(i);
            if (p.isString()) out.add(textPrompt(p.stringValue(), field, addSpecial, tok));
            else if (p.isArray() && !p.isEmpty()) out.add(tokenPrompt(p, field, tok));
            else throw ApiException.badRequest(field,
                    field + "[" + i + "] must be a string or a non-empty array of token ids");
        }
        return out;
    }

    private static Prompt textPrompt(String text, String field, boolean addSpecial, Tokenizer tok) {
        int[] tokens = tok.encode(text, addSpecial, true);
        if (tokens.length == 0) throw ApiException.badRequest(field, field + " is empty");
        return new Prompt(text, tokens);
    }

    private static Prompt tokenPrompt(JsonNode ids, String field, Tokenizer tok) {
        int[] tokens = new int[ids.size()];
        for (int i = 0; i < tokens.length; i++) {
            JsonNode t = ids.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.intValue() < 0 || t.intValue() >= tok.vocabSize()) {
                throw ApiException.badRequest(field,
                        "token ids must be integers in [0, " + tok.vocabSize() + "), got " + t);
            }
            tokens[i] = t.intValue();
        }
        return new Prompt(tok.decode(tokens), tokens);
    }
}
