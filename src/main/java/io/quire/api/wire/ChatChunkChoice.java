package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/**
 * One choice's part of a chat stream chunk; {@code finish_reason} null until its last chunk; with vLLM's
 * {@code return_token_ids}, the chunk's output token ids.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatChunkChoice(int index, ChatDelta delta, ChatLogprobs logprobs, String finishReason,
                              @JsonInclude(JsonInclude.Include.NON_NULL) int[] tokenIds) {

    public ChatChunkChoice(int index, ChatDelta delta, ChatLogprobs logprobs, String finishReason) {
        this(index, delta, logprobs, finishReason, null);
    }
}
