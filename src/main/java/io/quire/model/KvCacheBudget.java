package io.quire.model;

import io.quire.backend.KvCacheSpec;

/**
 * How much memory the KV cache may take, as the server is configured for either device; the model
 * turns it into blocks on its own device ({@link LanguageModel#kvCacheBlocks}), so nothing above
 * the model converts blocks to bytes and back. The CPU takes {@code bytes}; a GPU takes
 * {@code gpuMemoryUtilization} of its free memory after the weights, less room for the
 * activations of a step of {@code maxBatchedTokens} tokens, or also {@code bytes} when the
 * utilization is 0 (a fixed budget, as tests and benchmarks want).
 *
 * @param bytes                the KV cache's memory on the CPU: {@code quire.kv-cache-memory}, or what the
 *                             engine sized by need when that is 0 ({@code engine.KvCacheSize})
 * @param gpuMemoryUtilization fraction of the free GPU memory ({@code quire.gpu-memory-utilization}); 0: {@code bytes}
 * @param maxBatchedTokens     most tokens in one step, whose activations a GPU leaves room for
 */
public record KvCacheBudget(long bytes, double gpuMemoryUtilization, int maxBatchedTokens) {

    /** Whether {@code bytes} is the budget on every device. */
    public boolean fixedBytes() { return gpuMemoryUtilization == 0; }

    /** The blocks of {@code spec} that {@code bytes} holds; less than one block is an error. */
    public int blocksInBytes(KvCacheSpec spec) {
        int n = spec.blocksIn(bytes);
        if (n < 1) {
            throw new IllegalArgumentException("KV cache budget of " + bytes + " bytes is less than one block ("
                    + spec.bytesPerBlock() + " bytes); raise it");
        }
        return n;
    }
}
