package io.quire.engine;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.kv.KvAllocationPolicy;
import io.quire.model.LanguageModel;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The one way engine tests make engines: a KV cache sized in blocks of the model's own block
 * bytes, and the engine's limits, each left at {@link EngineConfig}'s default unless a test sets
 * it. Also the wait every leak check needs: for the engine to give every block back.
 */
final class TestEngines {
    private TestEngines() {}

    static Builder with(LanguageModel<?> model) { return new Builder(model); }

    /**
     * Waits until every KV block is free again (the engine finishes aborts and cancellations on its
     * own thread, within a step) and returns the stats that show it.
     */
    static EngineStats awaitAllBlocksFree(LLMEngine engine) {
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            EngineStats s = engine.stats();
            assertThat(s.numFreeBlocks()).as("KV blocks leaked: %s", s).isEqualTo(s.numTotalBlocks());
        });
        return engine.stats();
    }

    static final class Builder {
        private final LanguageModel<?> model;
        private int numBlocks = 64;
        private int blockSize = EngineConfig.DEFAULT_BLOCK_SIZE;
        private long kvCacheBytes; // 0: numBlocks of blockSize
        private int swapBlocks;
        private int maxNumSeqs = EngineConfig.DEFAULT_MAX_NUM_SEQS;
        private int maxNumBatchedTokens = EngineConfig.DEFAULT_MAX_NUM_BATCHED_TOKENS;
        private int maxModelLen; // 0: the model's context length
        private boolean prefixCaching = true;
        private PreemptionMode preemptionMode = PreemptionMode.AUTO;
        private KvAllocationPolicy kvAllocationPolicy = KvAllocationPolicy.PAGED;
        private SchedulingPolicy schedulingPolicy = SchedulingPolicy.FCFS;
        private MeterRegistry registry = new SimpleMeterRegistry();
        private SpeculativeConfig speculative;

        private Builder(LanguageModel<?> model) { this.model = model; }

        /** A KV cache of {@code numBlocks} blocks of {@code blockSize} tokens (default 64 of 16). */
        Builder blocks(int numBlocks, int blockSize) {
            this.numBlocks = numBlocks;
            this.blockSize = blockSize;
            return this;
        }

        /** A KV budget in bytes instead of in blocks. */
        Builder kvCacheBytes(long bytes) {
            this.kvCacheBytes = bytes;
            return this;
        }

        /** A host swap space of {@code n} blocks (default none). */
        Builder swapBlocks(int n) {
            this.swapBlocks = n;
            return this;
        }

        Builder maxNumSeqs(int n) {
            this.maxNumSeqs = n;
            return this;
        }

        Builder maxNumBatchedTokens(int n) {
            this.maxNumBatchedTokens = n;
            return this;
        }

        /** 0 (the default): the model's context length. */
        Builder maxModelLen(int n) {
            this.maxModelLen = n;
            return this;
        }

        /** On by default. */
        Builder prefixCaching(boolean enable) {
            this.prefixCaching = enable;
            return this;
        }

        Builder preemptionMode(PreemptionMode mode) {
            this.preemptionMode = mode;
            return this;
        }

        Builder kvAllocationPolicy(KvAllocationPolicy policy) {
            this.kvAllocationPolicy = policy;
            return this;
        }

        Builder schedulingPolicy(SchedulingPolicy policy) {
            this.schedulingPolicy = policy;
            return this;
        }

        /** Speculative decoding (default none). */
        Builder speculative(SpeculativeConfig config) {
            this.speculative = config;
            return this;
        }

        /** Where the engine's meters go (default a fresh SimpleMeterRegistry). */
        Builder registry(MeterRegistry registry) {
            this.registry = registry;
            return this;
        }

        EngineConfig config() {
            long perBlock = model.kvCacheSpec(blockSize).bytesPerBlock();
            long bytes = kvCacheBytes > 0 ? kvCacheBytes : numBlocks * perBlock;
            return new EngineConfig(blockSize, bytes, maxNumSeqs, maxNumBatchedTokens, maxModelLen, prefixCaching,
                    swapBlocks * perBlock, preemptionMode, kvAllocationPolicy)
                    .withSchedulingPolicy(schedulingPolicy);
        }

        LLMEngine build() { return new LLMEngine(model, config(), registry, speculative); }
    }
}
