package io.quire.api;

import io.quire.api.wire.CompletionChoice;
import io.quire.api.wire.CompletionLogprobs;
import io.quire.api.wire.CompletionResponse;
import io.quire.api.wire.Usage;
import io.quire.engine.SequenceDelta;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code /v1/completions} choices ({@code text_completion}). With {@code echo} each choice starts
 * with its prompt's text. Logprobs' {@code text_offset} runs on through a choice's whole text, so
 * a stream keeps each choice's offset between chunks: one format per HTTP request.
 */
final class CompletionChoiceFormat implements ChoiceFormat {
    private final String id;
    private final long created;
    private final String model;
    private final List<String> promptTexts;
    private final int n;
    private final boolean echo;
    /** Null: no logprobs asked for. */
    private final LogprobsFormatter logprobs;
    private final int[][] offsets;

    CompletionChoiceFormat(String id, long created, String model, List<String> promptTexts, int n, boolean echo,
                           LogprobsFormatter logprobs) {
        this.id = id;
        this.created = created;
        this.model = model;
        this.promptTexts = promptTexts;
        this.n = n;
        this.echo = echo;
        this.logprobs = logprobs;
        this.offsets = new int[promptTexts.size() * n][1];
    }

    private String prefix(int choice) {
        return echo ? promptTexts.get(choice / n) : "";
    }

    @Override
    public Object head(int choice) {
        if (!echo) return null;
        String text = prefix(choice);
        offsets[choice][0] = text.length();
        return completion(List.of(new CompletionChoice(choice, text, null, null)), null);
    }

    @Override
    public Object chunk(int choice, SequenceDelta d) {
        CompletionLogprobs lp = logprobs == null ? null
                : logprobs.completion(d.logprobs() == null ? List.of() : d.logprobs(), offsets[choice]);
        String text = d.text() == null ? "" : d.text();
        return completion(List.of(new CompletionChoice(choice, text, lp, OpenAiFormat.finishReason(d.finishReason()))),
                null);
    }

    @Override
    public Object usageChunk(Usage usage) {
        return completion(List.of(), usage);
    }

    @Override
    public Object response(List<ChoiceAccumulator> collected, Usage usage) {
        List<CompletionChoice> choices = new ArrayList<>(collected.size());
        for (int i = 0; i < collected.size(); i++) {
            ChoiceAccumulator a = collected.get(i);
            String prefix = prefix(i);
            CompletionLogprobs lp = logprobs == null ? null
                    : logprobs.completion(a.logprobs, new int[]{prefix.length()});
            choices.add(new CompletionChoice(i, prefix + a.text, lp, OpenAiFormat.finishReason(a.finishReason)));
        }
        return completion(choices, usage);
    }

    private CompletionResponse completion(List<CompletionChoice> choices, Usage usage) {
        return new CompletionResponse(id, CompletionResponse.OBJECT, created, model, choices, usage);
    }
}
