package io.quire.api.wire;

import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/** vLLM's tokenize result. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record TokenizeResponse(int count, int maxModelLen, int[] tokens) {}
