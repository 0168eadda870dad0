package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/**
 * One event of a streamed chat completion ({@code object: "chat.completion.chunk"}); with
 * {@code stream_options.include_usage} the last one has no choices and carries {@code usage}.
 */
public record ChatCompletionChunk(String id, String object, long created, String model, List<ChatChunkChoice> choices,
                                  @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {
    public static final String OBJECT = "chat.completion.chunk";
}
