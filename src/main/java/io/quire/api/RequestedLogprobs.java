package io.quire.api;

import io.quire.engine.RequestValidator;

/**
 * How many logprob alternatives per token a request asks for, from either endpoint's fields, checked
 * in one place: completions send the count as {@code logprobs}; chat sends a {@code logprobs} flag
 * and the count as {@code top_logprobs}. Null: no logprobs at all.
 */
final class RequestedLogprobs {
    /** The engine's limit (vLLM's default max_logprobs), so a request the API accepts the engine accepts. */
    static final int MAX = RequestValidator.MAX_LOGPROBS;

    private RequestedLogprobs() {}

    /** {@code /v1/completions}: {@code logprobs} is the count. */
    static Integer completion(Integer logprobs) {
        return checked("logprobs", logprobs);
    }

    /** {@code /v1/chat/completions}: {@code top_logprobs} counts only when {@code logprobs} is true. */
    static Integer chat(Boolean logprobs, Integer topLogprobs) {
        boolean wanted = Boolean.TRUE.equals(logprobs);
        if (topLogprobs != null && !wanted) {
            throw ApiException.badRequest("top_logprobs", "top_logprobs requires logprobs to be true");
        }
        return wanted ? checked("top_logprobs", topLogprobs == null ? 0 : topLogprobs) : null;
    }

    /** vLLM's {@code prompt_logprobs}, either endpoint. */
    static Integer prompt(Integer promptLogprobs) {
        return checked("prompt_logprobs", promptLogprobs);
    }

    private static Integer checked(String field, Integer count) {
        if (count != null && (count < 0 || count > MAX)) {
            throw ApiException.badRequest(field, field + " must be between 0 and " + MAX + ", got " + count);
        }
        return count;
    }
}
