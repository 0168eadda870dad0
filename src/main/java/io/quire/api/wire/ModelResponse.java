package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;
import java.util.Map;

/**
 * A Responses API response ({@code object: "response"}): its status ({@code in_progress},
 * {@code completed}, {@code incomplete} with why, {@code cancelled}, or {@code failed} with its
 * {@code error}), the output items (reasoning, an assistant message of one {@code output_text} part,
 * function calls), the settings it ran with, and usage once it has any.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ModelResponse(String id, String object, long createdAt, String status, Object error,
                            IncompleteDetails incompleteDetails, String instructions, Integer maxOutputTokens,
                            String model, List<Object> output, boolean parallelToolCalls, Object previousResponseId,
                            Map<String, Object> reasoning, boolean store, double temperature, Map<String, Object> text,
                            Object toolChoice, Object tools, double topP, String truncation, Usage usage,
                            String user, Map<String, String> metadata) {
    public static final String OBJECT = "response";

    /** Why a response is incomplete: {@code max_output_tokens} (or {@code content_filter}). */
    public record IncompleteDetails(String reason) {}

    /** An output message item. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Message(String type, String id, String status, String role, List<OutputText> content) {
        public static Message of(String id, String status, List<OutputText> content) {
            return new Message("message", id, status, "assistant", content);
        }
    }

    /** A function call item: the model's call of one of the request's functions. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record FunctionCall(String type, String id, String callId, String name, String arguments, String status) {
        public static FunctionCall of(String id, String callId, String name, String arguments, String status) {
            return new FunctionCall("function_call", id, callId, name, arguments, status);
        }
    }

    /** A reasoning item: the thinking a reasoning parser split off, as one {@code reasoning_text} part. */
    public record Reasoning(String type, String id, List<Object> summary, List<ReasoningText> content,
                            String status) {
        public static Reasoning of(String id, String text, String status) {
            return new Reasoning("reasoning", id, List.of(), text == null ? List.of() : List.of(ReasoningText.of(text)),
                    status);
        }
    }

    /** A reasoning item's text part. */
    public record ReasoningText(String type, String text) {
        public static ReasoningText of(String text) {
            return new ReasoningText("reasoning_text", text);
        }
    }

    /** A message's text part. */
    public record OutputText(String type, String text, List<Object> annotations, List<Object> logprobs) {
        public static OutputText of(String text) {
            return new OutputText("output_text", text, List.of(), List.of());
        }
    }

    /** Token counts in the Responses API's names. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Usage(int inputTokens, Map<String, Integer> inputTokensDetails, int outputTokens,
                        Map<String, Integer> outputTokensDetails, int totalTokens) {
        public static Usage of(int input, int output) {
            return new Usage(input, Map.of("cached_tokens", 0, "cache_write_tokens", 0), output,
                    Map.of("reasoning_tokens", 0), input + output);
        }
    }
}
