package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/** A chat token's logprob with its UTF-8 bytes and the most likely alternatives. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatTokenLogprob(String token, float logprob, List<Integer> bytes,
                               @JsonInclude(JsonInclude.Include.NON_NULL) List<ChatTokenLogprob> topLogprobs) {}
