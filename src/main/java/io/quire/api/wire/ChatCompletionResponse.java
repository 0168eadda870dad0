package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;
import java.util.Map;

/**
 * A non-streamed chat completion ({@code object: "chat.completion"}); vLLM's {@code prompt_logprobs} (of
 * the rendered prompt) only when asked for, and the prompt's token ids with its {@code return_token_ids}.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatCompletionResponse(String id, String object, long created, String model, List<ChatChoice> choices,
        Usage usage, @JsonInclude(JsonInclude.Include.NON_NULL) List<Map<String, PromptTokenLogprob>> promptLogprobs,
        @JsonInclude(JsonInclude.Include.NON_NULL) int[] promptTokenIds) {
    public static final String OBJECT = "chat.completion";

    public ChatCompletionResponse(String id, String object, long created, String model, List<ChatChoice> choices,
                                  Usage usage) {
        this(id, object, created, model, choices, usage, null, null);
    }
}
