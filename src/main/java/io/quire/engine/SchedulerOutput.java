package io.quire.engine;

import io.quire.kv.BlockOp;

import java.util.List;

/**
 * What the scheduler decided for one step.
 *
 * @param scheduled          sequences to run, running ones first, then swapped-in, then newly admitted ones
 * @param preempted          sequences preempted this step (swapped out, or blocks freed and back at the
 *                           front of the waiting queue)
 * @param numScheduledTokens tokens in the step
 * @param blockOps           copies and swaps the KV cache must perform, in order, before the forward pass
 * @param prefixCacheQueries tokens of the admitted sequences looked up in the prefix cache
 * @param prefixCacheHits    of those, tokens found cached (their prefill is skipped)
 */
public record SchedulerOutput(List<ScheduledSequence> scheduled, List<Sequence> preempted, int numScheduledTokens,
                              List<BlockOp> blockOps, long prefixCacheQueries, long prefixCacheHits) {

    public boolean isEmpty() { return scheduled.isEmpty(); }
}
