package io.quire.engine;

/** The order the scheduler serves requests in (vLLM's {@code --scheduling-policy}). */
public enum SchedulingPolicy {
    /** First come, first served; every request's priority must be 0 (as vLLM). */
    FCFS,
    /**
     * By each request's {@code priority} (lower first), then arrival: the waiting and swapped queues are kept
     * in that order, and the KV cache's preemption victim is the running request that comes last in it.
     */
    PRIORITY
}
