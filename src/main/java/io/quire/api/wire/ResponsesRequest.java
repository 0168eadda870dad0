package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.Map;

/**
 * {@code POST /v1/responses} (OpenAI's Responses API), the text subset: {@code input} is a string (one
 * user message) or a list of messages ({@code role} and {@code content}, a string or text parts);
 * {@code instructions} come first as a system message. Fields for tools, stored conversations and
 * other modalities are refused by name ({@code UnsupportedFields.RESPONSES}).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ResponsesRequest(
        String model,
        JsonNode input,
        String instructions,
        Integer maxOutputTokens,
        Double temperature,
        Double topP,
        Boolean stream,
        Boolean store,
        Map<String, String> metadata,
        String user,
        Boolean parallelToolCalls,
        JsonNode toolChoice,
        String truncation) {}
