package io.quire.engine;

/**
 * One sequence's share of a step: {@code numNewTokens} tokens from position {@code start}
 * (a whole prompt, a chunk of one, a recompute after preemption, or one decode token).
 */
public record ScheduledSequence(Sequence sequence, int start, int numNewTokens) {

    /** Whether this step reaches the sequence's last token, so its logits are sampled. */
    public boolean samples() { return start + numNewTokens == sequence.numTokens(); }
}
