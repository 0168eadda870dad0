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
 * vLLM's {@code POST /tokenize}: either a {@code prompt} or chat {@code messages} (rendered with
 * the chat template, {@code add_generation_prompt} default true, or {@code continue_final_message}).
 * {@code add_special_tokens} defaults to true for a prompt and false for messages (the template writes
 * them); {@code tools} reach the template as in a chat completion.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record TokenizeRequest(String model, String prompt, List<ChatMessage> messages, Boolean addSpecialTokens,
                              Boolean addGenerationPrompt, Boolean continueFinalMessage,
                              // Template variables may be null (Python's None), unlike other list or map entries.
                              @JsonSetter(contentNulls = Nulls.SET) Map<String, Object> chatTemplateKwargs,
                              JsonNode tools) {}
