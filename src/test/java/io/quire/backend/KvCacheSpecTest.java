package io.quire.backend;

import io.quire.backend.cpu.PagedKvCache;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KvCacheSpecTest {

    @Test
    void aBlockCostsEveryLayersKeysAndValuesInItsType() {
        KvCacheSpec fp32 = new KvCacheSpec(16, 2, 2, 8, TensorType.F32);
        assertThat(fp32.kvDim()).isEqualTo(16);
        assertThat(fp32.bytesPerLayerBlock()).isEqualTo(16 * 16 * 4);
        assertThat(fp32.bytesPerBlock()).isEqualTo(2L * 2 * 16 * 16 * 4);
        KvCacheSpec fp16 = new KvCacheSpec(16, 2, 2, 8, TensorType.F16);
        assertThat(fp16.bytesPerBlock()).isEqualTo(fp32.bytesPerBlock() / 2);
        assertThat(fp32.blocksIn(3 * fp32.bytesPerBlock() - 1)).isEqualTo(2);
        assertThat(fp32.blocksIn(-1)).isZero();
    }

    @Test
    void quantizedTypesAndEmptyShapesAreRefused() {
        assertThatThrownBy(() -> new KvCacheSpec(16, 2, 2, 8, TensorType.Q8_0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KvCacheSpec(0, 2, 2, 8, TensorType.F32))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theCpuCacheIsBuiltFromItsSpecAndReportsIt() {
        KvCacheSpec spec = new KvCacheSpec(8, 3, 2, 4, TensorType.F32);
        PagedKvCache cache = new PagedKvCache(spec, 5, 2);
        assertThat(cache.spec()).isEqualTo(spec);
        assertThat(cache.blockSize()).isEqualTo(8);
        assertThat(cache.numLayers()).isEqualTo(3);
        assertThat(cache.numSwapBlocks()).isEqualTo(2);
        assertThat(cache.keysAsFloats(0)).hasSize(5 * 8 * 2 * 4);
        KvCacheSpec half = new KvCacheSpec(8, 3, 2, 4, TensorType.F16);
        assertThat(new PagedKvCache(half, 5, 0).spec()).isEqualTo(half);
        assertThat(half.bytesPerBlock() * 2).isEqualTo(spec.bytesPerBlock());
        assertThatThrownBy(() -> new PagedKvCache(new KvCacheSpec(8, 3, 2, 4, TensorType.BF16), 5, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("F32, F16, F8_E4M3 or F8_E5M2");
    }
}
