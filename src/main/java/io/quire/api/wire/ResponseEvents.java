package io.quire.api.wire;

import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/**
 * The events of a streamed Responses API response, each sent as {@code event: <type>} and its JSON
 * (which carries the type too) with a running {@code sequence_number}: the response created and in
 * progress; per output item, in order, its added event, its text's (or reasoning's, or a call's
 * arguments') deltas and whole, and its done event; the response completed (or incomplete, or failed).
 */
public final class ResponseEvents {
    private ResponseEvents() {}

    /** response.created, response.in_progress, response.completed, response.incomplete, response.failed. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Lifecycle(String type, int sequenceNumber, ModelResponse response) {}

    /** response.output_item.added and .done: a message, reasoning or function call item. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Item(String type, int sequenceNumber, int outputIndex, Object item) {}

    /** response.reasoning_text.delta. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ReasoningDelta(String type, int sequenceNumber, String itemId, int outputIndex, int contentIndex,
                                 String delta) {}

    /** response.reasoning_text.done. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ReasoningDone(String type, int sequenceNumber, String itemId, int outputIndex, int contentIndex,
                                String text) {}

    /** response.function_call_arguments.delta. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ArgumentsDelta(String type, int sequenceNumber, String itemId, int outputIndex, String delta) {}

    /** response.function_call_arguments.done. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record ArgumentsDone(String type, int sequenceNumber, String itemId, int outputIndex, String name,
                                String arguments) {}

    /** response.content_part.added and .done: a message's output_text part, or a reasoning_text part. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Part(String type, int sequenceNumber, String itemId, int outputIndex, int contentIndex,
                       Object part) {}

    /** response.output_text.delta. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TextDelta(String type, int sequenceNumber, String itemId, int outputIndex, int contentIndex,
                            String delta, List<Object> logprobs) {}

    /** response.output_text.done. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TextDone(String type, int sequenceNumber, String itemId, int outputIndex, int contentIndex,
                           String text, List<Object> logprobs) {}
}
