package io.quire.api;

import io.quire.api.tools.ParsedText;
import io.quire.api.tools.ParsedToolCall;
import io.quire.api.wire.ModelResponse;
import io.quire.api.wire.ResponseEvents;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The output items of one response as its text is parsed: reasoning, then the message, then function
 * calls, each item opened when its first text comes and closed when the next kind begins (or the
 * response ends). It hands out the stream events in order as it goes; the items it built are the
 * response's output. As vLLM: whitespace opens no message (the newline between two calls, or before
 * the first, is no message of its own), text after a call is dropped, and without parallel tool calls
 * only the first call is kept. With nothing at all, the output is one empty message. Used by one
 * stream or whole response at a time.
 */
final class ResponseItems {
    private final BiFunction<String, Object, String> event;
    private final int[] seq;
    private final List<Object> done = new ArrayList<>();
    private String reasoningId, messageId;
    private int reasoningIndex, messageIndex;
    private final StringBuilder reasoning = new StringBuilder(), content = new StringBuilder();
    /** Whitespace that came while no message was open: shown only if text follows (or it is all there is). */
    private final StringBuilder blank = new StringBuilder();
    private final boolean parallel;
    private boolean called;

    /**
     * @param event    makes an event's text from its type and data; {@code seq}: the stream's counter
     * @param parallel whether several calls may be kept (parallel_tool_calls)
     */
    ResponseItems(BiFunction<String, Object, String> event, int[] seq, boolean parallel) {
        this.event = event;
        this.seq = seq;
        this.parallel = parallel;
    }

    private int next() { return seq[0]++; }

    private String send(String type, Object data) { return event.apply(type, data); }

    /** What a parsed piece of the output adds: its events. */
    List<String> push(ParsedText p) {
        List<String> out = new ArrayList<>();
        if (!p.reasoning().isEmpty()) {
            closeMessage(out, "completed");
            if (reasoningId == null) {
                reasoningId = OpenAiFormat.newId("rs_");
                reasoningIndex = done.size();
                done.add(null);  // its place, filled when it closes
                out.add(send("response.output_item.added", new ResponseEvents.Item("response.output_item.added",
                        next(), reasoningIndex, ModelResponse.Reasoning.of(reasoningId, null, "in_progress"))));
                out.add(send("response.content_part.added", new ResponseEvents.Part("response.content_part.added",
                        next(), reasoningId, reasoningIndex, 0, ModelResponse.ReasoningText.of(""))));
            }
            reasoning.append(p.reasoning());
            out.add(send("response.reasoning_text.delta", new ResponseEvents.ReasoningDelta(
                    "response.reasoning_text.delta", next(), reasoningId, reasoningIndex, 0, p.reasoning())));
        }
        if (!p.content().isEmpty() && !called) {
            if (messageId == null && p.content().isBlank()) {
                blank.append(p.content());
            } else {
                closeReasoning(out);
                openMessage(out);
                String text = blank + p.content();
                blank.setLength(0);
                content.append(text);
                out.add(send("response.output_text.delta", new ResponseEvents.TextDelta(
                        "response.output_text.delta", next(), messageId, messageIndex, 0, text, List.of())));
            }
        }
        for (ParsedToolCall call : p.calls()) {
            if (called && !parallel) break;
            called = true;
            blank.setLength(0);
            closeReasoning(out);
            closeMessage(out, "completed");
            int index = done.size();
            String id = OpenAiFormat.newId("fc_"), callId = OpenAiFormat.newToolCallId();
            out.add(send("response.output_item.added", new ResponseEvents.Item("response.output_item.added", next(),
                    index, ModelResponse.FunctionCall.of(id, callId, call.name(), "", "in_progress"))));
            out.add(send("response.function_call_arguments.delta", new ResponseEvents.ArgumentsDelta(
                    "response.function_call_arguments.delta", next(), id, index, call.arguments())));
            out.add(send("response.function_call_arguments.done", new ResponseEvents.ArgumentsDone(
                    "response.function_call_arguments.done", next(), id, index, call.name(), call.arguments())));
            ModelResponse.FunctionCall item = ModelResponse.FunctionCall.of(id, callId, call.name(), call.arguments(),
                    "completed");
            done.add(item);
            out.add(send("response.output_item.done", new ResponseEvents.Item("response.output_item.done", next(),
                    index, item)));
        }
        return out;
    }

    /** Closes what is open ({@code messageStatus}: the message's own status), an empty message if nothing came. */
    List<String> close(String messageStatus) {
        List<String> out = new ArrayList<>();
        if (done.isEmpty() && !blank.isEmpty()) {
            // whitespace was all the reply had: it is the message
            openMessage(out);
            content.append(blank);
            out.add(send("response.output_text.delta", new ResponseEvents.TextDelta("response.output_text.delta",
                    next(), messageId, messageIndex, 0, blank.toString(), List.of())));
            blank.setLength(0);
        }
        closeReasoning(out);
        if (done.isEmpty()) openMessage(out);
        closeMessage(out, messageStatus);
        return out;
    }

    /** The items, in order. */
    List<Object> output() { return List.copyOf(done); }

    private void openMessage(List<String> out) {
        if (messageId != null) return;
        messageId = OpenAiFormat.newId("msg_");
        messageIndex = done.size();
        done.add(null);
        out.add(send("response.output_item.added", new ResponseEvents.Item("response.output_item.added", next(),
                messageIndex, ModelResponse.Message.of(messageId, "in_progress", List.of()))));
        out.add(send("response.content_part.added", new ResponseEvents.Part("response.content_part.added", next(),
                messageId, messageIndex, 0, ModelResponse.OutputText.of(""))));
    }

    private void closeMessage(List<String> out, String status) {
        if (messageId == null) return;
        ModelResponse.OutputText part = ModelResponse.OutputText.of(content.toString());
        ModelResponse.Message item = ModelResponse.Message.of(messageId, status, List.of(part));
        out.add(send("response.output_text.done", new ResponseEvents.TextDone("response.output_text.done", next(),
                messageId, messageIndex, 0, part.text(), List.of())));
        out.add(send("response.content_part.done", new ResponseEvents.Part("response.content_part.done", next(),
                messageId, messageIndex, 0, part)));
        out.add(send("response.output_item.done", new ResponseEvents.Item("response.output_item.done", next(),
                messageIndex, item)));
        done.set(messageIndex, item);
        messageId = null;
        content.setLength(0);
    }

    private void closeReasoning(List<String> out) {
        if (reasoningId == null) return;
        ModelResponse.Reasoning item = ModelResponse.Reasoning.of(reasoningId, reasoning.toString(), "completed");
        out.add(send("response.reasoning_text.done", new ResponseEvents.ReasoningDone("response.reasoning_text.done",
                next(), reasoningId, reasoningIndex, 0, reasoning.toString())));
        out.add(send("response.content_part.done", new ResponseEvents.Part("response.content_part.done", next(),
                reasoningId, reasoningIndex, 0, item.content().getFirst())));
        out.add(send("response.output_item.done", new ResponseEvents.Item("response.output_item.done", next(),
                reasoningIndex, item)));
        done.set(reasoningIndex, item);
        reasoningId = null;
        reasoning.setLength(0);
    }
}
