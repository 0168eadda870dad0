package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/**
 * vLLM's {@code POST /score}: {@code text_1} and {@code text_2} each a string or an array of strings,
 * scored 1:1, 1:N or N:N; {@code truncate_prompt_tokens}, {@code priority}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ScoreRequest(String model, @JsonProperty("text_1") JsonNode text1, @JsonProperty("text_2") JsonNode text2,
                           Integer truncatePromptTokens,
                           Integer priority) {}
