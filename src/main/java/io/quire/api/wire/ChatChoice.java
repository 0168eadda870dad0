package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/** One choice of a non-streamed chat completion; its output's token ids with vLLM's {@code return_token_ids}. */
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatChoice(int index, ChatResponseMessage message, ChatLogprobs logprobs, String finishReason,
                         @JsonInclude(JsonInclude.Include.NON_NULL) int[] tokenIds) {

    public ChatChoice(int index, ChatResponseMessage message, ChatLogprobs logprobs, String finishReason) {
        this(index, message, logprobs, finishReason, null);
    }
}
