package io.quire.api;

import io.quire.api.wire.CompletionChoice;
import io.quire.api.wire.CompletionLogprobs;
import io.quire.api.wire.CompletionResponse;
import io.quire.api.wire.Usage;
import io.quire.engine.PromptLogprob;
import io.quire.engine.SequenceDelta;
import io.quire.engine.TokenLogprob;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code /v1/completions} choices ({@code text_completion}). With {@code echo} each choice starts
 * with its prompt's text, and with logprobs too the prompt's tokens start its logprobs, as vLLM
 * (which lm-eval's loglikelihood tasks read). Logprobs' {@code text_offset} runs on through a choice's
 * whole text, so a stream keeps each choice's offset between chunks: one format per HTTP request.
 */
final class CompletionChoiceFormat implements ChoiceFormat {
    /**
     * What choices show besides their text: the echoed prompt ({@code promptOnly}: alone, for echo with
     * max_tokens 0, its one generated token not shown, as vLLM), and token ids (vLLM's return_token_ids).
     */
    record Shown(boolean echo, boolean promptOnly, boolean tokenIds) {}

    private final String id;
    private final long created;
    private final String model;
    private final List<String> promptTexts;
    private final List<int[]> promptTokens;
    private final int n;
    private final Shown shown;
    /** Null: no logprobs asked for. */
    private final LogprobsFormatter logprobs;
    /** For prompt_logprobs. */
    private final LogprobsFormatter prompts;
    private final int[][] offsets;
    /** Per choice, whether a stream sent its prompt's token ids (in its first chunk). */
    private final boolean[] promptIdsSent;

    CompletionChoiceFormat(String id, long created, String model, List<String> promptTexts, List<int[]> promptTokens,
                           int n, Shown shown, LogprobsFormatter logprobs, LogprobsFormatter prompts) {
        this.id = id;
        this.created = created;
        this.model = model;
        this.promptTexts = promptTexts;
        this.promptTokens = promptTokens;
        this.n = n;
        this.shown = shown;
        this.logprobs = logprobs;
        this.prompts = prompts;
        this.offsets = new int[promptTexts.size() * n][1];
        this.promptIdsSent = new boolean[promptTexts.size() * n];
    }

    private String prefix(int choice) {
        return shown.echo() ? promptTexts.get(choice / n) : "";
    }

    /** The prompt's token ids for a stream's first chunk of the choice, else null. */
    private int[] promptIdsOnce(int choice) {
        if (!shown.tokenIds() || promptIdsSent[choice]) return null;
        promptIdsSent[choice] = true;
        return promptTokens.get(choice / n);
    }

    @Override
    public boolean headAwaitsPromptLogprobs() { return shown.echo() && logprobs != null; }

    @Override
    public boolean showsTokenIds() { return shown.tokenIds(); }

    @Override
    public Object head(int choice, List<PromptLogprob> promptLogprobs) {
        if (!shown.echo()) return null;
        String text = prefix(choice);
        CompletionLogprobs lp = null;
        if (logprobs != null) {
            // none when the request ended before its prompt ran (aborted): the echo comes without scores
            if (promptLogprobs != null) {
                lp = logprobs.echoed(promptTokens.get(choice / n), promptLogprobs, List.of(), offsets[choice]);
            }
        } else {
            offsets[choice][0] = text.length();
        }
        return completion(List.of(new CompletionChoice(choice, text, lp, null, null, promptIdsOnce(choice),
                ids(new int[0]))), null);
    }

    @Override
    public Object chunk(int choice, SequenceDelta d) {
        if (shown.promptOnly()) {
            if (d.finishReason() == null) return null;
            CompletionLogprobs none = logprobs == null ? null : logprobs.completion(List.of(), offsets[choice]);
            return completion(List.of(new CompletionChoice(choice, "", none,
                    OpenAiFormat.finishReason(d.finishReason()), null, promptIdsOnce(choice), ids(new int[0]))), null);
        }
        CompletionLogprobs lp = logprobs == null ? null
                : logprobs.completion(d.logprobs() == null ? List.of() : d.logprobs(), offsets[choice]);
        String text = d.text() == null ? "" : d.text();
        return completion(List.of(new CompletionChoice(choice, text, lp, OpenAiFormat.finishReason(d.finishReason()),
                null, promptIdsOnce(choice), ids(d.tokenIds()))), null);
    }

    @Override
    public Object withUsage(Object chunk, Usage usage) {
        CompletionResponse c = (CompletionResponse) chunk;
        return new CompletionResponse(c.id(), c.object(), c.created(), c.model(), c.choices(), usage);
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
            List<TokenLogprob> outputLogprobs = shown.promptOnly() ? List.of() : a.logprobs;
            CompletionLogprobs lp = null;
            if (logprobs != null && shown.echo() && a.promptLogprobs != null) {
                lp = logprobs.echoed(promptTokens.get(i / n), a.promptLogprobs, outputLogprobs, new int[1]);
            } else if (logprobs != null) {
                lp = logprobs.completion(a.logprobs, new int[]{prefix.length()});
            }
            // As vLLM, whenever prompt logprobs were computed (prompt_logprobs, or echo with logprobs).
            var promptLogprobs = a.promptLogprobs == null ? null : prompts.prompt(a.promptLogprobs);
            choices.add(new CompletionChoice(i, shown.promptOnly() ? prefix : prefix + a.text, lp,
                    OpenAiFormat.finishReason(a.finishReason), promptLogprobs,
                    shown.tokenIds() ? promptTokens.get(i / n) : null,
                    ids(shown.promptOnly() ? new int[0] : a.tokenIds())));
        }
        return completion(choices, usage);
    }

    /** The output's token ids when shown, else null. */
    private int[] ids(int[] tokenIds) {
        return shown.tokenIds() ? tokenIds : null;
    }

    private CompletionResponse completion(List<CompletionChoice> choices, Usage usage) {
        return new CompletionResponse(id, CompletionResponse.OBJECT, created, model, choices, usage);
    }
}
