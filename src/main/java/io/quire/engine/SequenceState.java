package io.quire.engine;

/** Where a sequence is in the engine. */
public enum SequenceState {
    /** Queued, or preempted and waiting to be recomputed. */
    WAITING,
    /** Admitted: it holds KV blocks and is scheduled every step. */
    RUNNING,
    /** Preempted by swapping: its KV blocks wait in the host swap pool. */
    SWAPPED,
    /** Stopped, out of length, aborted or failed; its blocks are freed. */
    FINISHED
}
