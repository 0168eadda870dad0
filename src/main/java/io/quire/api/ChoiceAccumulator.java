package io.quire.api;

import io.quire.engine.FinishReason;
import io.quire.engine.PromptLogprob;
import io.quire.engine.SequenceDelta;
import io.quire.engine.TokenLogprob;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Collects one choice's deltas for a non-streamed response. */
final class ChoiceAccumulator {
    final StringBuilder text = new StringBuilder();
    final List<TokenLogprob> logprobs = new ArrayList<>();
    FinishReason finishReason;
    /** Its prompt's logprobs, when asked for. */
    List<PromptLogprob> promptLogprobs;
    private int[] tokenIds = new int[16];
    private int numTokenIds;

    void add(SequenceDelta d) {
        if (d.text() != null) text.append(d.text());
        if (d.tokenIds() != null) {
            if (numTokenIds + d.tokenIds().length > tokenIds.length) {
                tokenIds = Arrays.copyOf(tokenIds, Math.max(2 * tokenIds.length, numTokenIds + d.tokenIds().length));
            }
            System.arraycopy(d.tokenIds(), 0, tokenIds, numTokenIds, d.tokenIds().length);
            numTokenIds += d.tokenIds().length;
        }
        if (d.logprobs() != null) logprobs.addAll(d.logprobs());
        if (d.finishReason() != null) finishReason = d.finishReason();
    }

    /** The output's token ids, in order. */
    int[] tokenIds() {
        return Arrays.copyOf(tokenIds, numTokenIds);
    }
}
