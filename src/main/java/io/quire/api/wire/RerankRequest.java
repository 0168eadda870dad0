package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/**
 * vLLM's {@code POST /rerank} (Jina's and Cohere's shape): a {@code query}, its {@code documents} (strings),
 * {@code top_n} (0, the default: all), {@code truncate_prompt_tokens}, {@code priority}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record RerankRequest(String model, JsonNode query, JsonNode documents, Integer topN,
                            Integer truncatePromptTokens, Integer priority) {}
