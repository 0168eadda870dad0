package io.quire.api;

import io.quire.api.wire.ChatChoice;
import io.quire.api.wire.ChatChunkChoice;
import io.quire.api.wire.ChatCompletionChunk;
import io.quire.api.wire.ChatCompletionResponse;
import io.quire.api.wire.ChatDelta;
import io.quire.api.wire.ChatLogprobs;
import io.quire.api.wire.ChatResponseMessage;
import io.quire.api.wire.Usage;
import io.quire.engine.SequenceDelta;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code /v1/chat/completions} choices: a stream opens each choice with a
 * {@code delta.role = "assistant"} chunk (as OpenAI), then sends its text as {@code delta.content}.
 */
final class ChatChoiceFormat implements ChoiceFormat {
    private final String id;
    private final long created;
    private final String model;
    /** Null: no logprobs asked for. */
    private final LogprobsFormatter logprobs;

    ChatChoiceFormat(String id, long created, String model, LogprobsFormatter logprobs) {
        this.id = id;
        this.created = created;
        this.model = model;
        this.logprobs = logprobs;
    }

    @Override
    public Object head(int choice) {
        return chunk(new ChatChunkChoice(choice, new ChatDelta("assistant", ""), null, null));
    }

    @Override
    public Object chunk(int choice, SequenceDelta d) {
        boolean hasText = d.text() != null && !d.text().isEmpty();
        ChatLogprobs lp = logprobs == null ? null : logprobs.chat(d.logprobs() == null ? List.of() : d.logprobs());
        return chunk(new ChatChunkChoice(choice, new ChatDelta(null, hasText ? d.text() : null), lp,
                OpenAiFormat.finishReason(d.finishReason())));
    }

    @Override
    public Object usageChunk(Usage usage) {
        return new ChatCompletionChunk(id, ChatCompletionChunk.OBJECT, created, model, List.of(), usage);
    }

    @Override
    public Object response(List<ChoiceAccumulator> collected, Usage usage) {
        List<ChatChoice> choices = new ArrayList<>(collected.size());
        for (int i = 0; i < collected.size(); i++) {
            ChoiceAccumulator a = collected.get(i);
            choices.add(new ChatChoice(i, new ChatResponseMessage("assistant", a.text.toString()),
                    logprobs == null ? null : logprobs.chat(a.logprobs), OpenAiFormat.finishReason(a.finishReason)));
        }
        return new ChatCompletionResponse(id, ChatCompletionResponse.OBJECT, created, model, choices, usage);
    }

    private ChatCompletionChunk chunk(ChatChunkChoice choice) {
        return new ChatCompletionChunk(id, ChatCompletionChunk.OBJECT, created, model, List.of(choice), null);
    }
}
