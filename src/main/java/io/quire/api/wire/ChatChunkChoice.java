package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/** One choice's part of a chat stream chunk; {@code finish_reason} null until its last chunk. */
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatChunkChoice(int index, ChatDelta delta, ChatLogprobs logprobs, String finishReason) {}
