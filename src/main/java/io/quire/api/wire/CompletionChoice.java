package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/** One choice of a completion (or its new text in a stream chunk); {@code finish_reason} null while running. */
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record CompletionChoice(int index, String text, CompletionLogprobs logprobs, String finishReason) {}
