package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;
import java.util.Map;

/**
 * One choice of a completion (or its new text in a stream chunk); {@code finish_reason} null while running.
 * vLLM's {@code prompt_logprobs} only when asked for ({@link PromptTokenLogprob}; null for the first token), and
 * with its {@code return_token_ids} the prompt's token ids (a stream's first chunk of the choice) and the
 * output's (a stream chunk's own).
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record CompletionChoice(int index, String text, CompletionLogprobs logprobs, String finishReason,
                               @JsonInclude(JsonInclude.Include.NON_NULL)
                               List<Map<String, PromptTokenLogprob>> promptLogprobs,
                               @JsonInclude(JsonInclude.Include.NON_NULL) int[] promptTokenIds,
                               @JsonInclude(JsonInclude.Include.NON_NULL) int[] tokenIds) {

    public CompletionChoice(int index, String text, CompletionLogprobs logprobs, String finishReason) {
        this(index, text, logprobs, finishReason, null, null, null);
    }
}
