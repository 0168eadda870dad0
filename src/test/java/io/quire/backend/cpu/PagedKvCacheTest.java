package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.ValueLayout;
import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PagedKvCacheTest {

    @Test
    void aBlockHoldsEachHeadsRowsTogether() {
        int blocks = 3, bs = 4, kvHeads = 2, headDim = 8;
        PagedKvCache cache = new PagedKvCache(1, blocks, bs, kvHeads, headDim);
        float[] k = new float[kvHeads * headDim], v = new float[k.length];
        for (int i = 0; i < k.length; i++) {
            k[i] = 100 + i;
            v[i] = -100 - i;
        }
        int slot = 2 * bs + 3; // block 2, offset 3
        cache.write(0, new int[] {slot}, k, v, 1);
        for (int h = 0; h < kvHeads; h++) {
            long at = ((2L * kvHeads + h) * bs + 3) * headDim; // [block][kvHead][offset][headDim]
            for (int d = 0; d < headDim; d++) {
                assertThat(cache.keys(0).getAtIndex(ValueLayout.JAVA_FLOAT, at + d)).isEqualTo(k[h * headDim + d]);
                assertThat(cache.values(0).getAtIndex(ValueLayout.JAVA_FLOAT, at + d)).isEqualTo(v[h * headDim + d]);
            }
        }
    }

    @Test
    void slotOrderCopiesRoundTripAndFollowCopiesAndSwaps() {
        int layers = 2, blocks = 5, bs = 16, kvHeads = 3, headDim = 16;
        var spec = new KvCacheSpec(bs, layers, kvHeads, headDim, TensorType.F32);
        PagedKvCache cache = new PagedKvCache(spec, blocks, 2);
        Random r = new Random(7);
        float[][] k = new float[layers][blocks * bs * kvHeads * headDim], v = new float[layers][k[0].length];
        for (int l = 0; l < layers; l++) {
            for (int i = 0; i < k[l].length; i++) {
                k[l][i] = r.nextFloat();
                v[l][i] = r.nextFloat();
            }
            cache.writeLayer(l, k[l], v[l]);
            assertThat(cache.keysAsFloats(l)).containsExactly(k[l]);
            assertThat(cache.valuesAsFloats(l)).containsExactly(v[l]);
        }
        int perBlock = bs * kvHeads * headDim;
        cache.copyBlock(1, 4);
        cache.swapOut(new int[] {0}, new int[] {1});
        cache.swapIn(new int[] {1}, new int[] {3});
        for (int l = 0; l < layers; l++) {
            System.arraycopy(k[l], perBlock, k[l], 4 * perBlock, perBlock);
            System.arraycopy(k[l], 0, k[l], 3 * perBlock, perBlock);
            System.arraycopy(v[l], perBlock, v[l], 4 * perBlock, perBlock);
            System.arraycopy(v[l], 0, v[l], 3 * perBlock, perBlock);
            assertThat(cache.keysAsFloats(l)).containsExactly(k[l]);
            assertThat(cache.valuesAsFloats(l)).containsExactly(v[l]);
        }
        assertThatThrownBy(() -> cache.writeLayer(0, new float[3], new float[3]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("a layer holds");
    }

    @Test
    void aLargeCacheIsZeroedAndWritableToItsLastFloat() {
        int blocks = 700, bs = 16, kvHeads = 4, headDim = 64; // 2.7 MiB per layer
        PagedKvCache cache = new PagedKvCache(2, blocks, bs, kvHeads, headDim);
        long floats = cache.keys(1).byteSize() / 4;
        assertThat(floats).isEqualTo((long) blocks * bs * kvHeads * headDim);
        assertThat(cache.keys(1).address() % 64).isZero();
        for (long i = 0; i < floats; i += 4093) assertThat(cache.keys(1).getAtIndex(ValueLayout.JAVA_FLOAT, i)).isZero();
        float[] k = new float[kvHeads * headDim], v = new float[k.length];
        Arrays.fill(k, 2f);
        Arrays.fill(v, 3f);
        cache.write(1, new int[] {blocks * bs - 1}, k, v, 1);
        assertThat(cache.keys(1).getAtIndex(ValueLayout.JAVA_FLOAT, floats - 1)).isEqualTo(2f);
        assertThat(cache.values(1).getAtIndex(ValueLayout.JAVA_FLOAT, floats - 1)).isEqualTo(3f);
    }

    @Test
    void anF16CacheStoresHalvesClampedToTheirRangeAndHalfTheBytes() {
        int blocks = 2, bs = 4, kvHeads = 1, headDim = 8;
        PagedKvCache f32 = new PagedKvCache(new KvCacheSpec(bs, 1, kvHeads, headDim, TensorType.F32), blocks, 0);
        PagedKvCache f16 = new PagedKvCache(new KvCacheSpec(bs, 1, kvHeads, headDim, TensorType.F16), blocks, 0);
        assertThat(f16.keys(0).byteSize() * 2).isEqualTo(f32.keys(0).byteSize());
        float[] k = {1f, -2.5f, 1e-6f, -0f, 1e6f, -1e6f, Float.POSITIVE_INFINITY, Float.NaN};
        float[] v = {0.1f, 65504f, 65520f, -3f, 6e-8f, 1f / 3, 2048.5f, -0.5f};
        f16.write(0, new int[] {5}, k, v, 1);
        float[] keys = f16.keysAsFloats(0), values = f16.valuesAsFloats(0);
        for (int d = 0; d < headDim; d++) {
            assertThat(Float.floatToIntBits(keys[5 * headDim + d])).isEqualTo(Float.floatToIntBits(
                    Float.float16ToFloat(Float.floatToFloat16(Math.max(-65504f, Math.min(65504f, k[d]))))));
            assertThat(values[5 * headDim + d]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(
                    Math.max(-65504f, Math.min(65504f, v[d])))));
        }
        assertThat(keys[5 * headDim + 4]).isEqualTo(65504f);   // clamped, not infinite
        assertThat(keys[5 * headDim + 6]).isEqualTo(65504f);
        assertThat(values[5 * headDim + 2]).isEqualTo(65504f);
        assertThat(keys[5 * headDim + 7]).isNaN();
        assertThat(keys[5 * headDim + 2]).isNotZero();           // a subnormal half survives
        assertThatThrownBy(() -> new PagedKvCache(new KvCacheSpec(bs, 1, kvHeads, headDim, TensorType.BF16), 1, 0))
                .hasMessageContaining("F32, F16, F8_E4M3 or F8_E5M2");
    }

    @Test
    void anFp8CacheStoresRoundedBytesClampedToTheirRangeAndAQuarterOfTheBytes() {
        int blocks = 2, bs = 4, kvHeads = 1, headDim = 8;
        PagedKvCache f32 = new PagedKvCache(new KvCacheSpec(bs, 1, kvHeads, headDim, TensorType.F32), blocks, 0);
        float[] k = {1f, -2.5f, 1e-6f, -0f, 1e6f, -1e6f, Float.POSITIVE_INFINITY, 0.3f};
        float[] v = {0.1f, 448f, 500f, -3f, 3e-3f, 1f / 3, 17f, -0.5f};
        // what e4m3 and e5m2 hold of each: rounded to 3 or 2 mantissa bits, clamped to 448 or 57344
        float[] k4 = {1f, -2.5f, 0f, -0f, 448f, -448f, 448f, 0.3125f};
        float[] v4 = {0.1015625f, 448f, 448f, -3f, 0.00390625f, 0.34375f, 16f, -0.5f};
        float[] k5 = {1f, -2.5f, 0f, -0f, 57344f, -57344f, 57344f, 0.3125f};
        float[] v5 = {0.09375f, 448f, 512f, -3f, 0.0029296875f, 0.3125f, 16f, -0.5f};
        for (TensorType type : new TensorType[] {TensorType.F8_E4M3, TensorType.F8_E5M2}) {
            PagedKvCache fp8 = new PagedKvCache(new KvCacheSpec(bs, 1, kvHeads, headDim, type), blocks, 0);
            assertThat(fp8.keys(0).byteSize() * 4).isEqualTo(f32.keys(0).byteSize());
            fp8.write(0, new int[] {6}, k, v, 1);
            float[] keys = fp8.keysAsFloats(0), values = fp8.valuesAsFloats(0);
            boolean e4m3 = type == TensorType.F8_E4M3;
            for (int d = 0; d < headDim; d++) {
                assertThat(keys[6 * headDim + d]).as("%s key %d", type, d).isEqualTo((e4m3 ? k4 : k5)[d]);
                assertThat(values[6 * headDim + d]).as("%s value %d", type, d).isEqualTo((e4m3 ? v4 : v5)[d]);
            }
            assertThat(Float.floatToIntBits(keys[6 * headDim + 3])).isEqualTo(Float.floatToIntBits(-0f));
        }
    }

    /**
     * A prompt's write, long enough to be split over the threads, with a head size that leaves a tail
     * after whole vectors (40 values): every slot holds what the per-value rounding gives, skipped
     * slots stay zero, and a slot outside the cache is refused before anything is written.
     */
    @Test
    void aLongWriteStoresEveryValueAsOneTokenAtATimeWould() {
        int blocks = 80, bs = 16, kvHeads = 3, headDim = 40, tokens = 700;
        int kvDim = kvHeads * headDim;
        Random r = new Random(11);
        float[] k = new float[tokens * kvDim], v = new float[k.length];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) (r.nextGaussian() * (i % 97 == 0 ? 1e5 : 3));
            v[i] = (float) (r.nextGaussian() * 3);
        }
        int[] slots = new int[tokens];
        for (int t = 0; t < tokens; t++) slots[t] = t % 50 == 7 ? -1 : t + 3 * (t / bs);  // gaps between blocks
        int threads = Parallel.threads();
        try {
            for (TensorType type : new TensorType[] {TensorType.F32, TensorType.F16, TensorType.F8_E4M3}) {
                var spec = new KvCacheSpec(bs, 2, kvHeads, headDim, type);
                float[] expectedK = null, expectedV = null;
                for (int n : new int[] {1, 2}) {
                    Parallel.setThreads(n);
                    PagedKvCache cache = new PagedKvCache(spec, blocks, 0);
                    cache.write(1, slots, k, v, tokens);
                    if (expectedK == null) {
                        // The reference: each token written alone, the path a decode step takes.
                        PagedKvCache one = new PagedKvCache(spec, blocks, 0);
                        for (int t = 0; t < tokens; t++) {
                            one.write(1, new int[] {slots[t]}, Arrays.copyOfRange(k, t * kvDim, (t + 1) * kvDim),
                                    Arrays.copyOfRange(v, t * kvDim, (t + 1) * kvDim), 1);
                        }
                        expectedK = one.keysAsFloats(1);
                        expectedV = one.valuesAsFloats(1);
                        if (type != TensorType.F8_E4M3) {  // FP8's rounding: Fp8's own tests
                            float[] want = new float[expectedK.length];
                            for (int t = 0; t < tokens; t++) {
                                for (int i = 0; slots[t] >= 0 && i < kvDim; i++) {
                                    float x = k[t * kvDim + i];
                                    want[slots[t] * kvDim + i] = type == TensorType.F32 ? x
                                            : Float.float16ToFloat(PagedKvCache.toHalf(x));
                                }
                            }
                            assertThat(expectedK).as("%s, one token at a time", type).isEqualTo(want);
                        }
                    }
                    assertThat(cache.keysAsFloats(1)).as("%s keys, %d threads", type, n).isEqualTo(expectedK);
                    assertThat(cache.valuesAsFloats(1)).as("%s values, %d threads", type, n).isEqualTo(expectedV);
                    assertThat(cache.keysAsFloats(0)).as("another layer").isEqualTo(new float[expectedK.length]);
                }
                PagedKvCache cache = new PagedKvCache(spec, blocks, 0);
                int[] bad = slots.clone();
                bad[tokens - 1] = blocks * bs;
                assertThatThrownBy(() -> cache.write(0, bad, k, v, tokens))
                        .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("outside the cache");
                assertThat(cache.keysAsFloats(0)).as("nothing written").isEqualTo(new float[blocks * bs * kvDim]);
            }
        } finally {
            Parallel.setThreads(threads);
        }
    }
}
