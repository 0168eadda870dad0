package io.quire.engine;

/**
 * One sequence's share of a step: {@code numNewTokens} tokens from position {@code start}
 * (a whole prompt, a chunk of one, a recompute after preemption, or one decode token and the
 * tokens drafted to follow it).
 */
public record ScheduledSequence(Sequence sequence, int start, int numNewTokens) {

    /** Whether this step reaches the sequence's last token, so its logits are sampled. */
    public boolean samples() { return start + numNewTokens >= sequence.numTokens(); }

    /** Drafted tokens this step runs after the sequence's last one (speculative decoding). */
    int numDraftTokens() { return Math.max(0, start + numNewTokens - sequence.numTokens()); }
}
