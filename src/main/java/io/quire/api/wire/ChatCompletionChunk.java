package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/**
 * One event of a streamed chat completion ({@code object: "chat.completion.chunk"}); with
 * {@code stream_options.include_usage} the last one has no choices and carries {@code usage}; with vLLM's
 * {@code return_token_ids} the first one carries the prompt's token ids.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatCompletionChunk(String id, String object, long created, String model, List<ChatChunkChoice> choices,
                                  @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage,
                                  @JsonInclude(JsonInclude.Include.NON_NULL) int[] promptTokenIds) {
    public static final String OBJECT = "chat.completion.chunk";

    public ChatCompletionChunk(String id, String object, long created, String model, List<ChatChunkChoice> choices,
                               Usage usage) {
        this(id, object, created, model, choices, usage, null);
    }
}
