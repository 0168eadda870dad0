package io.quire.engine;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.backend.KvCacheSpec;
import io.quire.backend.cpu.PagedKvCache;
import io.quire.model.ForwardBatch;
import io.quire.model.KvCacheBudget;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The engine sizes the KV cache through the model and refuses a cache cut in other blocks than its tables. */
class KvCacheAgreementTest {

    @Test
    void theModelsBudgetDecidesTheBlockCount() {
        ToyModel model = new ToyModel(64, 256);
        long perBlock = model.kvCacheSpec(16).bytesPerBlock();
        EngineConfig config = new EngineConfig(16, 40 * perBlock + 7, 8, 256, 256).withGpuMemoryUtilization(0.9);
        // An explicit size goes to the model as it is, with the GPU's share beside it.
        long bytes = KvCacheSize.choose(config, perBlock, 256).bytes();
        assertThat(config.kvCacheBudget(bytes)).isEqualTo(new KvCacheBudget(40 * perBlock + 7, 0.9, 256));
        try (LLMEngine engine = new LLMEngine(model, config, new SimpleMeterRegistry())) {
            assertThat(engine.stats().numTotalBlocks()).isEqualTo(40);
        }
    }

    @Test
    void aCacheOfAnotherBlockSizeIsRefused() {
        ToyModel toy = new ToyModel(64, 256);
        LanguageModel<?> model = new LanguageModel<PagedKvCache>() {
            @Override public ModelConfig config() { return toy.config(); }
            @Override public Tokenizer tokenizer() { return toy.tokenizer(); }
            @Override public String name() { return "off-by-one"; }
            @Override public String deviceDescription() { return toy.deviceDescription(); }
            @Override public float[][] forward(ForwardBatch batch,
                    PagedKvCache cache) { return toy.forward(batch, cache); }
            @Override public KvCacheSpec kvCacheSpec(int blockSize) { return toy.kvCacheSpec(blockSize); }
            @Override public int kvCacheBlocks(int blockSize, KvCacheBudget budget) {
                return toy.kvCacheBlocks(blockSize, budget);
            }
            @Override public PagedKvCache newKvCache(int numBlocks, int blockSize, int numSwapBlocks) {
                return toy.newKvCache(numBlocks, blockSize * 2, numSwapBlocks);
            }
        };
        EngineConfig config = new EngineConfig(16, EngineConfig.kvBytesFor(model, 16, 32), 8, 256, 256);
        assertThatThrownBy(() -> new LLMEngine(model, config, new SimpleMeterRegistry()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("blocks of 32 tokens");
    }
}
