package io.quire.engine;

import java.util.Set;

/**
 * A snapshot of the engine, taken after each step.
 *
 * @param running        requests holding KV blocks and scheduled every step
 * @param waiting        queued requests, including preempted ones
 * @param kvCacheUsage   fraction of KV blocks in use, 0..1
 * @param numPreemptions preemptions since start
 * @param swapped        sequences whose KV waits in the swap pool
 * @param swapUsage      fraction of swap blocks in use, 0..1
 * @param runningAdapters the LoRA adapters of running requests, by name
 * @param waitingAdapters the LoRA adapters of waiting and swapped requests, by name
 */
public record EngineStats(int running, int waiting, int numFreeBlocks, int numTotalBlocks, double kvCacheUsage,
                          long numPreemptions, int swapped, double swapUsage, int numFreeSwapBlocks,
                          int numTotalSwapBlocks, Set<String> runningAdapters, Set<String> waitingAdapters) {

    public EngineStats(int running, int waiting, int numFreeBlocks, int numTotalBlocks, double kvCacheUsage,
                       long numPreemptions, int swapped, double swapUsage, int numFreeSwapBlocks,
                       int numTotalSwapBlocks) {
        this(running, waiting, numFreeBlocks, numTotalBlocks, kvCacheUsage, numPreemptions, swapped, swapUsage,
                numFreeSwapBlocks, numTotalSwapBlocks, Set.of(), Set.of());
    }

    public EngineStats(int running, int waiting, int numFreeBlocks, int numTotalBlocks, double kvCacheUsage,
                       long numPreemptions) {
        this(running, waiting, numFreeBlocks, numTotalBlocks, kvCacheUsage, numPreemptions, 0, 0, 0, 0);
    }
}
