package io.quire.model;

import io.quire.backend.KvCache;
import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The CPU model sizes and makes its KV cache itself, from the configured budget. */
class KvCacheBudgetTest {
    private static final ModelConfig TINY = TinyModels.CONFIG;

    @Test
    void theCpuTakesTheBytesWhateverTheGpuShare() {
        try (LanguageModel<?> m = RandomModels.load(TINY, TensorType.F32, 1, "tiny")) {
            KvCacheSpec spec = m.kvCacheSpec(16);
            assertThat(spec).isEqualTo(TINY.kvCacheSpec(16, TensorType.F32));
            long bytes = 10 * spec.bytesPerBlock() + 1;
            assertThat(m.kvCacheBlocks(16, new KvCacheBudget(bytes, 0.9, 2048))).isEqualTo(10);
            assertThat(m.kvCacheBlocks(16, new KvCacheBudget(bytes, 0, 2048))).isEqualTo(10);
            assertThatThrownBy(() -> m.kvCacheBlocks(16, new KvCacheBudget(spec.bytesPerBlock() - 1, 0.9, 2048)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("less than one block");
            assertThat(m.deviceDescription()).contains("CPU threads in float32");
        }
    }

    @Test
    void theCacheIsMadeFromTheModelsSpec() {
        try (LanguageModel<?> m = RandomModels.load(TINY, TensorType.F32, 1, "tiny")) {
            KvCache cache = m.newKvCache(6, 8, 3);
            assertThat(cache.spec()).isEqualTo(m.kvCacheSpec(8));
            assertThat(cache.numBlocks()).isEqualTo(6);
            assertThat(cache.numSwapBlocks()).isEqualTo(3);
            assertThat(m.newKvCache(2, 8).numSwapBlocks()).isZero();
        }
    }
}
