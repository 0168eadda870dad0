package io.quire.engine;

import io.quire.kv.KvAllocationPolicy;
import io.quire.model.KvCacheBudget;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;

/**
 * How the engine batches and how much KV cache it keeps (vLLM's scheduler and cache config).
 *
 * @param blockSize            tokens per KV-cache block: the engine's block tables and the model's
 *                             cache are both cut in it
 * @param kvCacheBytes         memory of the KV cache on the CPU (and on a GPU when {@code gpuMemoryUtilization}
 *                             is 0), obeyed exactly; {@link #KV_CACHE_AUTO} (0): what {@code maxNumSeqs}
 *                             requests of the maximum model length need, at most {@link #DEFAULT_KV_CACHE_CAP}
 *                             and never less than one such request ({@code KvCacheSize}); the model turns the
 *                             bytes into blocks
 * @param maxNumSeqs           most requests in one step
 * @param maxNumBatchedTokens  most tokens in one step (prompt chunks plus decode tokens)
 * @param maxModelLen          most tokens (prompt plus output) of one request; 0 means the model's context length
 * @param enablePrefixCaching  reuse the KV of full blocks whose prefix an earlier request computed (vLLM's
 *                             automatic prefix caching)
 * @param swapSpaceBytes       host-side swap pool for preempted sequences' blocks (vLLM's swap_space); 0: none
 * @param preemptionMode       what preemption does with the victim's blocks
 * @param kvAllocationPolicy   how KV memory is given to requests: {@link KvAllocationPolicy#PAGED} (the
 *                             default) or one of the up-front reservations of the paper's memory comparison
 * @param maxWaitingRequests   most sequences queued and not yet scheduled (each request counts its
 *                             {@code n}/{@code best_of}); a submission that would pass it is refused whole
 * @param gpuMemoryUtilization on a GPU, the fraction of its free memory the KV cache takes; 0 (the
 *                             default of the shorter constructors): {@code kvCacheBytes} there too
 * @param schedulingPolicy     the order requests are served in (FCFS unless given)
 */
public record EngineConfig(int blockSize, long kvCacheBytes, int maxNumSeqs, int maxNumBatchedTokens, int maxModelLen,
                           boolean enablePrefixCaching, long swapSpaceBytes, PreemptionMode preemptionMode,
                           KvAllocationPolicy kvAllocationPolicy, int maxWaitingRequests, double gpuMemoryUtilization,
                           SchedulingPolicy schedulingPolicy) {

    public static final int DEFAULT_BLOCK_SIZE = 16;
    public static final int DEFAULT_MAX_NUM_SEQS = 64;
    public static final int DEFAULT_MAX_NUM_BATCHED_TOKENS = 2048;
    /** Queued sequences past which new requests are refused (429): room for two full OpenAI batches. */
    public static final int DEFAULT_MAX_WAITING_REQUESTS = 4096;
    /** {@link #kvCacheBytes} that sizes the KV cache by what the engine can use at once ({@code KvCacheSize}). */
    public static final long KV_CACHE_AUTO = 0;
    /** Most memory a KV cache sized by need ({@link #KV_CACHE_AUTO}) takes, unless one request needs more: 512MB. */
    public static final long DEFAULT_KV_CACHE_CAP = 512L << 20;

    public EngineConfig {
        if (blockSize <= 0) throw new IllegalArgumentException("blockSize must be positive, got " + blockSize);
        if (kvCacheBytes < 0) {
            throw new IllegalArgumentException("kvCacheBytes must be >= 0 (0: sized by need), got " + kvCacheBytes);
        }
        if (maxNumSeqs <= 0) throw new IllegalArgumentException("maxNumSeqs must be positive, got " + maxNumSeqs);
        if (maxNumBatchedTokens <= 0) {
            throw new IllegalArgumentException("maxNumBatchedTokens must be positive, got " + maxNumBatchedTokens);
        }
        if (maxModelLen < 0) {
            throw new IllegalArgumentException("maxModelLen must be >= 0 (0: the model's context length), got "
                    + maxModelLen);
        }
        if (swapSpaceBytes < 0) {
            throw new IllegalArgumentException("swapSpaceBytes must be >= 0, got " + swapSpaceBytes);
        }
        if (preemptionMode == null) throw new IllegalArgumentException("preemptionMode is required");
        if (kvAllocationPolicy == null) throw new IllegalArgumentException("kvAllocationPolicy is required");
        if (maxWaitingRequests <= 0) {
            throw new IllegalArgumentException("maxWaitingRequests must be positive, got " + maxWaitingRequests);
        }
        if (schedulingPolicy == null) throw new IllegalArgumentException("schedulingPolicy is required");
    }

    /** First come, first served. */
    public EngineConfig(int blockSize, long kvCacheBytes, int maxNumSeqs, int maxNumBatchedTokens, int maxModelLen,
                        boolean enablePrefixCaching, long swapSpaceBytes, PreemptionMode preemptionMode,
                        KvAllocationPolicy kvAllocationPolicy, int maxWaitingRequests, double gpuMemoryUtilization) {
        this(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen, enablePrefixCaching, swapSpaceBytes,
                preemptionMode, kvAllocationPolicy, maxWaitingRequests, gpuMemoryUtilization, SchedulingPolicy.FCFS);
    }

    /** A fixed KV budget of {@code kvCacheBytes} on every device. */
    public EngineConfig(int blockSize, long kvCacheBytes, int maxNumSeqs, int maxNumBatchedTokens, int maxModelLen,
                        boolean enablePrefixCaching, long swapSpaceBytes, PreemptionMode preemptionMode,
                        KvAllocationPolicy kvAllocationPolicy, int maxWaitingRequests) {
        this(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen, enablePrefixCaching, swapSpaceBytes,
                preemptionMode, kvAllocationPolicy, maxWaitingRequests, 0);
    }

    /** The default waiting bound. */
    public EngineConfig(int blockSize, long kvCacheBytes, int maxNumSeqs, int maxNumBatchedTokens, int maxModelLen,
                        boolean enablePrefixCaching, long swapSpaceBytes, PreemptionMode preemptionMode,
                        KvAllocationPolicy kvAllocationPolicy) {
        this(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen, enablePrefixCaching, swapSpaceBytes,
                preemptionMode, kvAllocationPolicy, DEFAULT_MAX_WAITING_REQUESTS);
    }

    /** Paged KV allocation (the default policy). */
    public EngineConfig(int blockSize, long kvCacheBytes, int maxNumSeqs, int maxNumBatchedTokens, int maxModelLen,
                        boolean enablePrefixCaching, long swapSpaceBytes, PreemptionMode preemptionMode) {
        this(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen, enablePrefixCaching, swapSpaceBytes,
                preemptionMode, KvAllocationPolicy.PAGED);
    }

    /** Prefix caching on, no swap space, AUTO preemption (recompute, as there is nowhere to swap to). */
    public EngineConfig(int blockSize, long kvCacheBytes, int maxNumSeqs, int maxNumBatchedTokens, int maxModelLen) {
        this(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen, true, 0, PreemptionMode.AUTO);
    }

    /** Defaults (block size 16, 64 sequences, 2048 tokens per step, the model's context length) with a KV budget. */
    public static EngineConfig defaults(long kvCacheBytes) {
        return new EngineConfig(DEFAULT_BLOCK_SIZE, kvCacheBytes, DEFAULT_MAX_NUM_SEQS, DEFAULT_MAX_NUM_BATCHED_TOKENS,
                0);
    }

    public EngineConfig withSchedulingPolicy(SchedulingPolicy policy) {
        return new EngineConfig(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen,
                enablePrefixCaching, swapSpaceBytes, preemptionMode, kvAllocationPolicy, maxWaitingRequests,
                gpuMemoryUtilization, policy);
    }

    public EngineConfig withMaxModelLen(int len) {
        return new EngineConfig(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, len, enablePrefixCaching,
                swapSpaceBytes, preemptionMode, kvAllocationPolicy, maxWaitingRequests, gpuMemoryUtilization,
                schedulingPolicy);
    }

    public EngineConfig withMaxNumSeqs(int n) {
        return new EngineConfig(blockSize, kvCacheBytes, n, maxNumBatchedTokens, maxModelLen, enablePrefixCaching,
                swapSpaceBytes, preemptionMode, kvAllocationPolicy, maxWaitingRequests, gpuMemoryUtilization,
                schedulingPolicy);
    }

    public EngineConfig withMaxNumBatchedTokens(int n) {
        return new EngineConfig(blockSize, kvCacheBytes, maxNumSeqs, n, maxModelLen, enablePrefixCaching,
                swapSpaceBytes, preemptionMode, kvAllocationPolicy, maxWaitingRequests, gpuMemoryUtilization,
                schedulingPolicy);
    }

    public EngineConfig withBlockSize(int n) {
        return new EngineConfig(n, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen, enablePrefixCaching,
                swapSpaceBytes, preemptionMode, kvAllocationPolicy, maxWaitingRequests, gpuMemoryUtilization,
                schedulingPolicy);
    }

    public EngineConfig withPrefixCaching(boolean enable) {
        return new EngineConfig(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen, enable,
                swapSpaceBytes, preemptionMode, kvAllocationPolicy, maxWaitingRequests, gpuMemoryUtilization,
                schedulingPolicy);
    }

    public EngineConfig withSwapSpaceBytes(long bytes) {
        return new EngineConfig(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen,
                enablePrefixCaching, bytes, preemptionMode, kvAllocationPolicy, maxWaitingRequests,
                gpuMemoryUtilization, schedulingPolicy);
    }

    public EngineConfig withPreemptionMode(PreemptionMode mode) {
        return new EngineConfig(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen,
                enablePrefixCaching, swapSpaceBytes, mode, kvAllocationPolicy, maxWaitingRequests,
                gpuMemoryUtilization, schedulingPolicy);
    }

    public EngineConfig withKvAllocationPolicy(KvAllocationPolicy policy) {
        return new EngineConfig(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen,
                enablePrefixCaching, swapSpaceBytes, preemptionMode, policy, maxWaitingRequests, gpuMemoryUtilization,
                schedulingPolicy);
    }

    public EngineConfig withMaxWaitingRequests(int n) {
        return new EngineConfig(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen,
                enablePrefixCaching, swapSpaceBytes, preemptionMode, kvAllocationPolicy, n, gpuMemoryUtilization,
                schedulingPolicy);
    }

    public EngineConfig withGpuMemoryUtilization(double fraction) {
        return new EngineConfig(blockSize, kvCacheBytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen,
                enablePrefixCaching, swapSpaceBytes, preemptionMode, kvAllocationPolicy, maxWaitingRequests, fraction,
                schedulingPolicy);
    }

    /**
     * What the model's device may give its KV cache ({@code LanguageModel.kvCacheBlocks} turns it into
     * blocks): {@code bytes}, as {@code KvCacheSize} chose them from this config, or a GPU's share.
     */
    public KvCacheBudget kvCacheBudget(long bytes) {
        return new KvCacheBudget(bytes, gpuMemoryUtilization, maxNumBatchedTokens);
    }

    /** Swap blocks the swap space buys at {@code perBlock} bytes a block (the cache's block shape and type). */
    public int numSwapBlocks(long perBlock) {
        return (int) Math.min(swapSpaceBytes / perBlock, Integer.MAX_VALUE);
    }

    /** Bytes of exactly {@code numBlocks} KV blocks of {@code blockSize} tokens in {@code model}'s cache. */
    public static long kvBytesFor(LanguageModel<?> model, int blockSize, int numBlocks) {
        return numBlocks * model.kvBytesPerBlock(blockSize);
    }

    /** The context length requests get: {@link #maxModelLen} if set, else the model's. */
    public int resolveMaxModelLen(ModelConfig model) {
        return maxModelLen > 0 ? maxModelLen : model.contextLength();
    }
}
