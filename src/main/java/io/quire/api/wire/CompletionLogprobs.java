package io.quire.api.wire;

import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;
import java.util.Map;

/** The legacy completions logprobs: parallel arrays, one entry per generated token. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record CompletionLogprobs(List<Integer> textOffset, List<Float> tokenLogprobs, List<String> tokens,
                                 List<Map<String, Float>> topLogprobs) {}
