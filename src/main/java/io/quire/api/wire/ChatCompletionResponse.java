package io.quire.api.wire;

import java.util.List;

/** A non-streamed chat completion ({@code object: "chat.completion"}). */
public record ChatCompletionResponse(String id, String object, long created, String model, List<ChatChoice> choices,
        Usage usage) {
    public static final String OBJECT = "chat.completion";
}
