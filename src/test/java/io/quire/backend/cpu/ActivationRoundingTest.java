package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The activations' rounding in vector lanes gives, bit for bit, what ggml's algorithm gives value by
 * value: Q8_K as the batched products take it and as {@link Q8K} holds it for the batch-1 kernels
 * (against quantize_row_q8_K_ref), Q8_0 as the scalar formula it replaced. Seeded random rows with the cases that decide a scale:
 * the largest magnitude twice with both signs, all-zero blocks, halves that round to even, a NaN.
 */
class ActivationRoundingTest {

    @Test
    void q8kInLanesEqualsGgmlsReference() {
        Random random = new Random(7);
        for (int round = 0; round < 200; round++) {
            int batch = 1 + random.nextInt(3);
            int cols = 256 * (1 + random.nextInt(3));
            float[] x = row(random, batch * cols);
            float[] got = new float[x.length];
            ActivationRounding.q8k(x, batch, cols, got);
            for (int b = 0; b < batch; b++) {
                Reference want = reference(x, b * cols, cols);
                Q8K y = Q8K.local(x, b * cols, cols);
                for (int c = 0; c < cols; c++) {
                    float value = want.d[c / 256] * want.q[c];
                    assertThat(Float.floatToRawIntBits(got[b * cols + c]))
                            .as("round %d, vector %d, value %d: %s against %s", round, b, c, got[b * cols + c], value)
                            .isEqualTo(Float.floatToRawIntBits(value));
                    assertThat(y.q[c]).as("round %d, vector %d, q %d", round, b, c).isEqualTo(want.q[c]);
                    assertThat(y.qs[c]).as("round %d, vector %d, qs %d", round, b, c).isEqualTo((short) want.q[c]);
                }
                for (int k = 0; k < cols / 256; k++) {
                    assertThat(Float.floatToRawIntBits(y.d[k])).as("round %d, d %d", round, k)
                            .isEqualTo(Float.floatToRawIntBits(want.d[k]));
                }
                assertThat(java.util.Arrays.copyOf(y.bsums, cols / 16)).as("round %d, bsums", round).containsExactly(want.bsums);
                assertThat(java.util.Arrays.copyOf(y.sums32, cols / 32)).as("round %d, sums32", round).containsExactly(want.sums32);
            }
        }
    }

    private record Reference(int[] q, float[] d, int[] bsums, int[] sums32) {}

    /** ggml's quantize_row_q8_K_ref, value by value. */
    private static Reference reference(float[] x, int off, int cols) {
        Reference r = new Reference(new int[cols], new float[cols / 256], new int[cols / 16], new int[cols / 32]);
        for (int b = 0; b < cols / 256; b++) {
            float max = 0, amax = 0;
            for (int j = 0; j < 256; j++) {
                float ax = Math.abs(x[off + 256 * b + j]);
                if (ax > amax) {
                    amax = ax;
                    max = x[off + 256 * b + j];
                }
            }
            if (amax == 0) continue;
            float iscale = -127f / max;
            for (int j = 0; j < 256; j++) r.q[256 * b + j] = Math.min(127, (int) Math.rint(iscale * x[off + 256 * b + j]));
            for (int g = 0; g < 16; g++) {
                for (int j = 0; j < 16; j++) r.bsums[16 * b + g] += r.q[256 * b + 16 * g + j];
                r.sums32[8 * b + g / 2] += r.bsums[16 * b + g];
            }
            r.d[b] = 1 / iscale;
        }
        return r;
    }

    @Test
    void q8_0InLanesEqualsTheScalarFormula() {
        Random random = new Random(8);
        for (int round = 0; round < 200; round++) {
            int batch = 1 + random.nextInt(3);
            int cols = 32 * (1 + random.nextInt(24));
            float[] x = row(random, batch * cols);
            float[] got = new float[x.length];
            ActivationRounding.q8_0(x, batch, cols, got);
            for (int from = 0; from < x.length; from += 32) {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[from + j]));
                float dh = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                float id = amax != 0 ? 127f / amax : 0f;
                for (int j = 0; j < 32; j++) {
                    float want = dh * (int) Math.rint(x[from + j] * id);
                    assertThat(Float.floatToRawIntBits(got[from + j]))
                            .as("round %d, value %d: %s against %s", round, from + j, got[from + j], want)
                            .isEqualTo(Float.floatToRawIntBits(want));
                }
            }
        }
    }

    /** Random values of mixed magnitudes, with blocks of the cases that decide a scale. */
    private static float[] row(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (random.nextGaussian() * Math.exp(2 * random.nextGaussian()));
        int kind = random.nextInt(6);
        int at = 32 * random.nextInt(n / 32);
        switch (kind) {
            case 0 -> java.util.Arrays.fill(x, at, at + 32, 0f);  // an all-zero block (and a zero 256 at times)
            case 1 -> {  // the largest magnitude twice, with either sign first
                float big = 1e3f * (1 + random.nextFloat());
                float first = random.nextBoolean() ? big : -big;
                x[at + random.nextInt(16)] = first;
                x[at + 16 + random.nextInt(16)] = -first;
            }
            case 2 -> {  // small integers and halves: x * 127 / amax lands on .5 often
                for (int i = at; i < at + 32; i++) x[i] = (random.nextInt(255) - 127) / 2f;
                x[at] = 127;
            }
            case 3 -> x[at + random.nextInt(32)] = Float.NaN;
            case 4 -> java.util.Arrays.fill(x, at, at + 32, -0f);
            default -> { }
        }
        return x;
    }
}
