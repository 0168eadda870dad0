package io.quire.api.wire;

import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/**
 * One token's entry at a prompt position in vLLM's {@code prompt_logprobs}, keyed by its token id: its
 * logprob, its rank in the vocabulary (1: the most likely) and its text.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record PromptTokenLogprob(float logprob, int rank, String decodedToken) {}
