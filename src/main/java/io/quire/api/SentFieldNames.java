package io.quire.api;

import io.quire.engine.InvalidConstraintException;
import io.quire.engine.InvalidRequestException;

import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The names a request gave the fields the engine knows by vLLM's chat names: the engine's refusals
 * say {@code messages} for the prompt and {@code max_tokens} for the output limit, whichever
 * endpoint sent them. A refusal is reworded with the field the caller sent, in {@code param} and
 * message alike: {@code prompt} on {@code /v1/completions}, {@code max_completion_tokens} on chat
 * when that is what set the limit.
 */
record SentFieldNames(String prompt, String maxTokens) {
    private static final Pattern MAX_TOKENS = Pattern.compile("\\bmax_tokens\\b");

    static final SentFieldNames COMPLETIONS = new SentFieldNames("prompt", "max_tokens");

    /** {@code maxCompletionTokens}: whether the limit came from {@code max_completion_tokens}. */
    static SentFieldNames chat(boolean maxCompletionTokens) {
        return new SentFieldNames("messages", maxCompletionTokens ? "max_completion_tokens" : "max_tokens");
    }

    /** Runs the engine submission; its refusal names the fields as this request sent them. */
    <T> T submit(Supplier<T> submission) {
        try {
            return submission.get();
        } catch (InvalidConstraintException e) {
            throw e;
        } catch (InvalidRequestException e) {
            throw new InvalidRequestException(param(e.param()), message(e.getMessage()));
        }
    }

    private String param(String param) {
        if ("messages".equals(param)) return prompt;
        if ("max_tokens".equals(param)) return maxTokens;
        return param;
    }

    private String message(String message) {
        if (message == null) return null;
        String out = MAX_TOKENS.matcher(message).replaceAll(Matcher.quoteReplacement(maxTokens));
        return out.replace(" the messages", " the " + prompt);
    }
}
