package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/**
 * The assistant's reply in a non-streamed chat completion. {@code content} is null when the reply
 * is only function calls; {@code reasoning_content} (a reasoning parser's, as vLLM's) and
 * {@code tool_calls} are left out when there are none.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatResponseMessage(
        String role,
        @JsonInclude(JsonInclude.Include.ALWAYS) String content,
        @JsonInclude(JsonInclude.Include.NON_NULL) String reasoningContent,
        @JsonInclude(JsonInclude.Include.NON_EMPTY) List<ToolCall> toolCalls) {

    public ChatResponseMessage(String role, String content) {
        this(role, content, null, List.of());
    }
}
