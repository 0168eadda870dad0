package io.quire.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.Quant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A step longer than {@link FeedForward#CHUNK} tokens gives, token for token, what one pass over it gives.
 * Equal to rounding, not bit for bit: until C2 compiles the kernels, the Vector API's Java fallback
 * sums lanes in another order (docs/performance.md), so two calls may differ in the last bits.
 */
class FeedForwardChunkTest {

    @Test
    void longStepsGoThroughInChunksWithTheSameResult() {
        ModelConfig c = ModelConfig.llama(64, 1, 4, 4, 96, 300, 2048);
        SplittableRandom random = new SplittableRandom(5);
        for (TensorType type : new TensorType[] {TensorType.F32, TensorType.Q8_0}) {
            Tensor gate = weight(type, 64, 96, random), up = weight(type, 64, 96, random);
            Tensor down = weight(type, 96, 64, random);
            LlamaWeights.Layer layer = new LlamaWeights.Layer(null, null, null, null, null, null, null, null, null,
                    null, null, null, gate, up, down, null, null);
            FeedForward ffn = new FeedForward(c);
            for (int n : new int[] {FeedForward.CHUNK + 1, 3 * FeedForward.CHUNK - 5, 700}) {
                float[] x = values(n * 64, random);
                float[] chunked = new float[n * 64];
                ffn.forward(layer, x, n, chunked);
                float[] whole = new float[n * 64];
                FeedForward.swiglu(c, gate, up, down, x, n, new float[n * 96], new float[n * 96], whole);
                float scale = 0;
                for (float v : whole) scale = Math.max(scale, Math.abs(v));
                for (int i = 0; i < whole.length; i++) {
                    assertThat(chunked[i]).as("%s, %d tokens, value %d", type, n, i)
                            .isCloseTo(whole[i], within(1e-6f * scale));
                }
            }
        }
    }

    private static Tensor weight(TensorType type, int cols, int rows, SplittableRandom random) {
        return new Tensor("w", type, new long[] {cols, rows}, Quant.quantize(type, values(cols * rows, random)));
    }

    private static float[] values(int n, SplittableRandom random) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextDouble() * 2 - 1);
        return v;
    }
}
