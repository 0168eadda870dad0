package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/**
 * OpenAI's {@code POST /v1/embeddings} with vLLM's extras: {@code input} is a string, an array of
 * strings, an array of token ids or an array of token-id arrays; {@code encoding_format} {@code float}
 * (default) or {@code base64} (little-endian float32, what OpenAI's Python client asks for);
 * {@code dimensions} only the model's own (no matryoshka truncation); {@code user} ignored. vLLM's:
 * {@code truncate_prompt_tokens}, {@code truncation_side}, {@code add_special_tokens} (default true),
 * {@code normalize} (default true: unit length), {@code priority}, {@code cache_salt}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record EmbeddingRequest(String model, JsonNode input, String encodingFormat, Integer dimensions, String user,
                               Integer truncatePromptTokens, String truncationSide, Boolean addSpecialTokens,
                               Boolean normalize, Integer priority, String cacheSalt) {}
