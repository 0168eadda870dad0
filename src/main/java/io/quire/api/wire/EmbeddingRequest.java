package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;
import java.util.Map;

/**
 * OpenAI's {@code POST /v1/embeddings} with vLLM's extras: {@code input} is a string, an array of
 * strings, an array of token ids or an array of token-id arrays; {@code encoding_format} {@code float}
 * (default) or {@code base64} (little-endian float32, what OpenAI's Python client asks for);
 * {@code dimensions} is refused (no matryoshka truncation); {@code user} ignored. vLLM's:
 * {@code truncate_prompt_tokens}, {@code truncation_side}, {@code add_special_tokens} (default true; with
 * {@code messages} BOS is added once, unless the template wrote it, as on the chat endpoint),
 * {@code normalize} (default true: unit length; newer vLLM names it {@code use_activation}),
 * {@code priority}, {@code cache_salt}; and its chat form, {@code messages} in place of {@code input},
 * rendered with the model's template ({@code add_generation_prompt} default false,
 * {@code continue_final_message}, {@code chat_template_kwargs}).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record EmbeddingRequest(String model, JsonNode input, List<ChatMessage> messages, String encodingFormat,
                               Integer dimensions, String user, Integer truncatePromptTokens, String truncationSide,
                               Boolean addSpecialTokens, Boolean normalize, Boolean useActivation, Integer priority,
                               String cacheSalt,
                               Boolean addGenerationPrompt, Boolean continueFinalMessage,
                               // Template variables may be null (Python's None), unlike other list or map entries.
                               @JsonSetter(contentNulls = Nulls.SET) Map<String, Object> chatTemplateKwargs) {}
