package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/**
 * One message of a conversation. {@code content} is a string or an array of parts
 * ({@code {"type": "text", "text": ...}}); tool fields are passed to the chat template as sent.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatMessage(String role, JsonNode content, String name, JsonNode toolCalls, String toolCallId) {}
