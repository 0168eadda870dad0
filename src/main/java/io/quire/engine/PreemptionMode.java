package io.quire.engine;

/**
 * How the scheduler frees KV blocks when it runs out (vLLM V0's preemption modes).
 */
public enum PreemptionMode {
    /** Free the blocks; the sequences run prompt plus outputs through the model again later. */
    RECOMPUTE,
    /** Move the blocks to the host swap pool and bring them back later (recompute when the pool is full). */
    SWAP,
    /** Recompute single-sequence requests, swap multi-sequence ones (n/best_of > 1, beam search), as vLLM V0. */
    AUTO
}
