package io.quire.api;

import java.util.Arrays;

/**
 * vLLM's {@code truncate_prompt_tokens}: keep only the last k tokens of the prompt (after the chat
 * template and tokenization), or the first k with {@code truncation_side: "right"}; -1 means the
 * model's context length. The prompt's usage counts what is kept.
 */
final class PromptTruncation {
    private PromptTruncation() {}

    /** The tokens kept (the array itself when nothing is cut); a 400 for a size or side vLLM refuses. */
    static int[] apply(int[] tokens, Integer truncatePromptTokens, String truncationSide, int maxModelLen) {
        boolean left = side(truncationSide);
        if (truncatePromptTokens == null) return tokens;
        int k = truncatePromptTokens;
        if (k == -1) k = maxModelLen;
        if (k < 1) {
            throw ApiException.badRequest("truncate_prompt_tokens",
                    "truncate_prompt_tokens must be -1 or at least 1, got " + truncatePromptTokens + ".");
        }
        if (k > maxModelLen) {
            throw ApiException.badRequest("truncate_prompt_tokens", "truncate_prompt_tokens value (" + k
                    + ") is greater than max_model_len (" + maxModelLen + "). Please, select a smaller truncation size.");
        }
        if (tokens.length <= k) return tokens;
        return left ? Arrays.copyOfRange(tokens, tokens.length - k, tokens.length) : Arrays.copyOf(tokens, k);
    }

    /** Whether the cut takes the prompt's start (left, the default) rather than its end. */
    private static boolean side(String truncationSide) {
        if (truncationSide == null || truncationSide.equals("left")) return true;
        if (truncationSide.equals("right")) return false;
        throw ApiException.badRequest("truncation_side",
                "truncation_side must be \"left\" or \"right\", got \"" + truncationSide + "\".");
    }
}
