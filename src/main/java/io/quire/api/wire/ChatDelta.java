package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/**
 * What a chat chunk adds to a choice: the role (first chunk only), new text, new thinking
 * ({@code reasoning_content}) and calls; absent fields are left out.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatDelta(String role, String content, String reasoningContent, List<ToolCall> toolCalls) {

    public ChatDelta(String role, String content) {
        this(role, content, null, null);
    }
}
