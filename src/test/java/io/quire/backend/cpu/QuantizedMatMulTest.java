package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The matmul of each quantized type against the product of its dequantized F32 weights (computed in
 * double), on random blocks and random activations with fixed seeds, at batch 1 (the stored-form dot
 * products) and at larger batches (dequantized tiles, with and without tile groups).
 *
 * <p>Tolerance: every type here meets its activations rounded as llama.cpp rounds them (Q8_K for the
 * 256-value types, Q8_0 for the others; {@link ActivationRounding}), so a result may be off by what that
 * rounding costs, at most half a step of each activation times its weight, plus float rounding (1e-5 of
 * the sum of |w x|).
 */
class QuantizedMatMulTest {
    private static final int ROWS = 37;
    private static final int COLS = 768;

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void matmulMatchesTheDequantizedProduct(TensorType type) {
        matchesTheDequantizedProduct(type, ROWS, COLS, new int[] {1, 5, 70});
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "IQ4_NL"})
    void rowsOfAnOddNumberOfBlocksOrOfOneBlockMatchAtBatchOne(TensorType type) {
        // Q4_0ShortDot and Iq4NlShortDot take blocks four at a time, then one by one; Q8_0Dot one or two.
        for (int cols : new int[] {32, 64, 96, 224, 288, 800}) matchesTheDequantizedProduct(type, 9, cols, new int[] {1, 3});
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void batchOneAgreesWithTheBatchedTilesToFloatRounding(TensorType type) {
        // Both meet the same rounded activations, so only the order of the float sums differs: a tight
        // bound that catches what the activation-rounding tolerance above would let through.
        for (int cols : new int[] {256, 768, 1280}) {
            Tensor w = RandomBlocks.tensor("w", type, 9, cols, 21 + type.id());
            float[] dense = Quant.dequantize(w);
            Random random = new Random(7 + type.id());
            float[] x = new float[2 * cols];
            for (int i = 0; i < cols; i++) x[i] = x[cols + i] = (float) random.nextGaussian();
            float[] one = new float[9], two = new float[18];
            // Until C2 has compiled the kernel, the Vector API's Java code may sum lanes in another order,
            // even between the two vectors of one call (row by row): repeat until they agree.
            long deadline = System.nanoTime() + 60_000_000_000L;
            do {
                MatMul.matmul(w, x, 1, one);
                MatMul.matmul(w, x, 2, two);
            } while (!java.util.Arrays.equals(two, 0, 9, two, 9, 18) && System.nanoTime() < deadline);
            for (int r = 0; r < 9; r++) {
                double mag = 0;
                for (int c = 0; c < cols; c++) mag += Math.abs((double) dense[r * cols + c] * x[c]);
                assertThat(two[9 + r]).isEqualTo(two[r]);
                assertThat((double) Math.abs(one[r] - two[r])).as("%s row %d, %d columns", type, r, cols)
                        .isLessThanOrEqualTo(2e-6 * mag);
            }
        }
    }

    private static void matchesTheDequantizedProduct(TensorType type, int rows, int cols, int[] batches) {
        Tensor w = RandomBlocks.tensor("w", type, rows, cols, 11 + type.id());
        float[] dense = Quant.dequantize(w);
        Random random = new Random(3 + type.id());
        for (int batch : batches) {
            float[] x = new float[batch * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            float[] out = new float[batch * rows];
            MatMul.matmul(w, x, batch, out);
            boolean q8k = type.blockSize() == 256;
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < rows; r++) {
                    double exact = 0, mag = 0, rounding = 0;
                    for (int c = 0; c < cols; c++) {
                        double wv = dense[r * cols + c], xv = x[b * cols + c];
                        exact += wv * xv;
                        mag += Math.abs(wv * xv);
                        // Half a step of the activation's quantization; Q8_0's fp16 scale adds up to 2^-11 of
                        // the 127 steps.
                        rounding += q8k ? Math.abs(wv) * blockMax(x, b * cols + c / 256 * 256, 256) / 254
                                : Math.abs(wv) * blockMax(x, b * cols + c / 32 * 32, 32) / 127 * (0.5 + 127 * 0x1p-11);
                    }
                    double tolerance = 1e-5 * mag + 1.001 * rounding;
                    assertThat(Math.abs(out[b * rows + r] - exact)).as("%s batch %d row %d of %d, %d columns", type,
                            batch, r, rows, cols).isLessThanOrEqualTo(tolerance);
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void q4_0AtBatchOneSumsAsGgmlsIntegerDotProduct() {
        // ggml_vec_dot_q4_0_q8_0: per block fp16(d_w) * d_x * sum (q - 8) q8, the activation's q8 and d_x as
        // quantize_row_q8_0 makes them; here in double from the stored bytes, so only float rounding differs.
        for (int cols : new int[] {32, 64, 160, 768}) sumsAsGgmlsQ4_0DotProduct(11, cols, 1);
    }

    @org.junit.jupiter.api.Test
    void q4_0BatchesSumAsGgmlsIntegerDotProduct() {
        // Q4_0ShortTile (batches above 20): panels of 32 (16 with 8-lane vectors) taken two at a time, one
        // left over, padding vectors past the batch; 30 rows are a tile of 24 (or 8) and a short one, not a
        // multiple of 4.
        for (int cols : new int[] {32, 160, 768}) {
            for (int batch : new int[] {21, 32, 33, 64, 65, 100}) sumsAsGgmlsQ4_0DotProduct(30, cols, batch);
        }
    }

    @org.junit.jupiter.api.Test
    void q4_0BatchesOfTwelveToSixteenSumAsGgmlsIntegerDotProduct() {
        // Q4_0InterleavedTile (batches 12 to 16 with 16 float lanes), padding vectors past the batch, and the
        // tile dots on either side; 30 rows are tiles of 8 and a short one, not a multiple of 4.
        for (int cols : new int[] {32, 160, 768}) {
            for (int batch : new int[] {11, 12, 13, 15, 16, 17}) sumsAsGgmlsQ4_0DotProduct(30, cols, batch);
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void aVectorGetsTheSameBitsInABatchOfTwelveToSixteenAsInALargeOne(TensorType type) {
        // Q4_0InterleavedTile and Q4_0ShortTile (Q4_KInterleavedTile and KQuantShortTile, Q6_KInterleavedTile and
        // Q6_KShortTile) take the same float operations on the same exact block (group) sums.
        org.junit.jupiter.api.Assumptions.assumeTrue(Q4_0InterleavedTile.takes(12),
                "batches of 12-16 take the interleaved panels with 16 float lanes only");
        int rows = 30, cols = 256;
        Tensor w = RandomBlocks.tensor("w", type, rows, cols, 44);
        Random random = new Random(10);
        float[] x = new float[40 * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (random.nextGaussian() * Math.exp(random.nextGaussian()));
        float[] large = new float[40 * rows];
        MatMul.matmul(w, x, 40, large);
        for (int batch = Q4_0InterleavedTile.MIN_BATCH; batch <= Q4_0InterleavedTile.MAX_BATCH; batch++) {
            float[] small = new float[batch * rows];
            MatMul.matmul(w, x, batch, small);
            assertThat(small).as("batch %d", batch).containsExactly(java.util.Arrays.copyOf(large, batch * rows));
        }
    }

    private static void sumsAsGgmlsQ4_0DotProduct(int rows, int cols, int batch) {
        Tensor w = RandomBlocks.tensor("w", TensorType.Q4_0, rows, cols, 31);
        Random random = new Random(cols + 1000L * batch);
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (random.nextGaussian() * Math.exp(random.nextGaussian()));
        float[] out = new float[batch * rows];
        MatMul.matmul(w, x, batch, out);
        java.lang.foreign.MemorySegment seg = w.data();
        for (int v = 0; v < batch; v++) {
            int xo = v * cols;
            for (int r = 0; r < rows; r++) {
                double exact = 0, mag = 0;
                for (int b = 0; b < cols / 32; b++) {
                    long off = 18L * (r * cols / 32 + b);
                    float amax = (float) blockMax(x, xo + 32 * b, 32);
                    float dx = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                    double dw = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
                    long sum = 0, abs = 0;
                    for (int i = 0; i < 16; i++) {
                        int q = seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off + 2 + i) & 0xff;
                        long lo = (long) ((q & 15) - 8) * (long) Math.rint(x[xo + 32 * b + i] * (127f / amax));
                        long hi = (long) ((q >> 4) - 8) * (long) Math.rint(x[xo + 32 * b + 16 + i] * (127f / amax));
                        sum += lo + hi;
                        abs += Math.abs(lo) + Math.abs(hi);
                    }
                    exact += dw * dx * sum;
                    // The kernels may scale partial sums of a block before adding them (batch 1: per lane).
                    mag += Math.abs(dw * dx) * abs;
                }
                assertThat((double) Math.abs(out[v * rows + r] - exact))
                        .as("batch %d vector %d row %d, %d columns", batch, v, r, cols)
                        .isLessThanOrEqualTo(1e-6 * mag);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_K", "Q5_K"})
    void kQuantBatchesSumAsGgmlsIntegerDotProduct(TensorType type) {
        // ggml_vec_dot_q4_K_q8_K (q5_K): per block d_x (d sum_g sc_g sum q q8 - dmin sum_g m_g sum q8), q8 and
        // d_x as quantize_row_q8_K makes them (Q8K), the 6-bit scales decoded as get_scale_min_k4 does, Q5_K's
        // fifth bits as dequantize_row_q5_K reads them; in double from the stored bytes, for batches that
        // KQuantShortTile takes (above 20), and Q4_KInterleavedTile (12-16).
        int rows = 30;
        boolean q5 = type == TensorType.Q5_K;
        int blockBytes = q5 ? 176 : 144;
        for (int cols : new int[] {256, 768}) {
            Tensor w = RandomBlocks.tensor("w", type, rows, cols, 47);
            java.lang.foreign.MemorySegment seg = w.data();
            for (int batch : new int[] {12, 13, 16, 21, 32, 33, 65}) {
                Random random = new Random(cols + 1000L * batch);
                float[] x = new float[batch * cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) (random.nextGaussian() * Math.exp(random.nextGaussian()));
                float[] out = new float[batch * rows];
                MatMul.matmul(w, x, batch, out);
                for (int v = 0; v < batch; v++) {
                    Q8K y = Q8K.local(x, v * cols, cols);
                    for (int r = 0; r < rows; r++) {
                        double exact = 0, mag = 0;
                        for (int blk = 0; blk < cols / 256; blk++) {
                            long off = (long) blockBytes * (r * cols / 256 + blk);
                            double d = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
                            double dmin = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 2));
                            for (int g = 0; g < 8; g++) {
                                int sc, m;
                                if (g < 4) {
                                    sc = u8(seg, off + 4 + g) & 63;
                                    m = u8(seg, off + 8 + g) & 63;
                                } else {
                                    sc = (u8(seg, off + 8 + g) & 0xF) | ((u8(seg, off + 4 + g - 4) >> 6) << 4);
                                    m = (u8(seg, off + 8 + g) >> 4) | ((u8(seg, off + 4 + g) >> 6) << 4);
                                }
                                long dot = 0, abs = 0, sum = 0;
                                for (int i = 0; i < 32; i++) {
                                    int b = u8(seg, off + (q5 ? 48 : 16) + 32 * (g / 2) + i);
                                    int q = g % 2 == 0 ? b & 15 : b >> 4;
                                    if (q5 && (u8(seg, off + 16 + i) & (1 << g)) != 0) q += 16;
                                    int q8 = y.q[256 * blk + 32 * g + i];
                                    dot += (long) q * q8;
                                    abs += Math.abs((long) q * q8);
                                    sum += q8;
                                }
                                double dx = y.d[blk];
                                exact += dx * (d * sc * dot - dmin * m * sum);
                                // The kernel's -d sc s_g and (8 d sc - dmin m) sum q8 parts (16 for Q5_K), each rounded.
                                mag += Math.abs(dx) * (Math.abs(d) * sc * (abs + 16 * Math.abs(sum))
                                        + Math.abs(dmin) * m * Math.abs(sum));
                            }
                        }
                        assertThat((double) Math.abs(out[v * rows + r] - exact))
                                .as("%s batch %d vector %d row %d, %d columns", type, batch, v, r, cols)
                                .isLessThanOrEqualTo(1e-6 * mag);
                    }
                }
            }
        }
    }

    private static int u8(java.lang.foreign.MemorySegment seg, long at) {
        return seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at) & 0xff;
    }

    @org.junit.jupiter.api.Test
    void aQ4_0VectorsBitsDoNotDependOnItsBatchAndANanStaysInItsVector() {
        // Above the row-by-row limit each (row, vector) sum takes the same operations in any panel.
        int rows = 30, cols = 256;
        Tensor w = RandomBlocks.tensor("w", TensorType.Q4_0, rows, cols, 43);
        Random random = new Random(9);
        float[] x = new float[100 * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        float[] wide = new float[100 * rows];
        MatMul.matmul(w, x, 100, wide);
        float[] narrow = new float[40 * rows];
        float[] shifted = new float[40 * cols];
        System.arraycopy(x, 60 * cols, shifted, 0, 40 * cols);
        MatMul.matmul(w, shifted, 40, narrow);
        assertThat(narrow).containsExactly(java.util.Arrays.copyOfRange(wide, 60 * rows, 100 * rows));
        shifted[5 * cols + 100] = Float.NaN;
        MatMul.matmul(w, shifted, 40, narrow);
        for (int v = 0; v < 40; v++) {
            for (int r = 0; r < rows; r++) {
                if (v == 5) assertThat(narrow[v * rows + r]).isNaN();
                else assertThat(narrow[v * rows + r]).isEqualTo(wide[(60 + v) * rows + r]);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0"})
    void aNanInTheActivationsReachesEveryRowAtBatchOne(TensorType type) {
        // As through the rounded floats before the integer Q4_0 kernel: its block scale carries the NaN.
        Tensor w = RandomBlocks.tensor("w", type, 5, 512, 41);
        float[] x = new float[512];
        java.util.Arrays.fill(x, 0.5f);
        x[300] = Float.NaN;
        float[] out = new float[5];
        MatMul.matmul(w, x, 1, out);
        for (float v : out) assertThat(v).isNaN();
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_K", "Q6_K"})
    void q8kKernelIsExactWhenTheActivationsAreOnTheQ8KGrid(TensorType type) {
        // Activations that are integers with a block max of 127 quantize without loss: the int dot
        // product must then match the dequantized product to float rounding.
        Tensor w = RandomBlocks.tensor("w", type, ROWS, COLS, 5);
        float[] dense = Quant.dequantize(w);
        Random random = new Random(9);
        float[] x = new float[COLS];
        for (int i = 0; i < COLS; i++) x[i] = i % 256 == 0 ? -127 : random.nextInt(255) - 127;
        float[] out = new float[ROWS];
        MatMul.matmul(w, x, 1, out);
        for (int r = 0; r < ROWS; r++) {
            double exact = 0, mag = 0;
            for (int c = 0; c < COLS; c++) {
                exact += (double) dense[r * COLS + c] * x[c];
                mag += Math.abs((double) dense[r * COLS + c] * x[c]);
            }
            assertThat(Math.abs(out[r] - exact)).as("%s row %d", type, r).isLessThanOrEqualTo(1e-5 * mag);
        }
    }

    @org.junit.jupiter.api.Test
    void q6kBatchesAreExactOnTheQ8KGridEvenWhereSixteenProductsWouldOverflowAShort() {
        // Q6_KShortTile sums eight products of (q - 32) and q8 per short: here rows whose values are all -32
        // (q = 0) or all 31 (q = 63) meet vectors of all -127 or all 127, where sixteen would reach 65,024.
        // Integer activations with a block max of 127 quantize without loss, so every batch size, through
        // whichever kernel takes it, must match the dequantized product to float rounding.
        int rows = 12, cols = 512;
        Tensor w = RandomBlocks.tensor("w", TensorType.Q6_K, rows, cols, 17);
        java.lang.foreign.MemorySegment seg = w.data();
        for (int r = 0; r < 4; r++) {
            for (int blk = 0; blk < cols / 256; blk++) {
                long off = 210L * (r * cols / 256 + blk);
                byte bits = r % 2 == 0 ? 0 : (byte) 0xff;
                for (int i = 0; i < 192; i++) seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, off + i, bits);
                for (int g = 0; g < 16; g++) {
                    seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, off + 192 + g, (byte) (r < 2 ? 127 : -128));
                }
            }
        }
        float[] dense = Quant.dequantize(w);
        Random random = new Random(13);
        for (int batch : new int[] {1, 5, 12, 16, 21, 32, 40}) {
            float[] x = new float[batch * cols];
            for (int b = 0; b < batch; b++) {
                for (int c = 0; c < cols; c++) {
                    x[b * cols + c] = b == 0 ? -127 : b == 1 ? 127 : c % 256 == 0 ? 127 : random.nextInt(255) - 127;
                }
            }
            float[] out = new float[batch * rows];
            MatMul.matmul(w, x, batch, out);
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < rows; r++) {
                    double exact = 0, mag = 0;
                    for (int c = 0; c < cols; c++) {
                        exact += (double) dense[r * cols + c] * x[b * cols + c];
                        mag += Math.abs((double) dense[r * cols + c] * x[b * cols + c]);
                    }
                    assertThat(Math.abs(out[b * rows + r] - exact)).as("batch %d vector %d row %d", batch, b, r)
                            .isLessThanOrEqualTo(1e-5 * mag);
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void q8_0RoundingStaysWithinHalfAStepOfTheFp16Scale() {
        Random random = new Random(21);
        float[] x = new float[3 * 256];
        for (int i = 0; i < x.length; i++) x[i] = (float) (random.nextGaussian() * Math.exp(random.nextGaussian()));
        java.util.Arrays.fill(x, 64, 96, 0f);  // an all-zero block
        float[] r = ActivationRounding.q8_0(x, 3, 256);
        for (int b = 0; b < x.length; b += 32) {
            double amax = blockMax(x, b, 32);
            float d = Float.float16ToFloat(Float.floatToFloat16((float) (amax / 127)));
            for (int i = b; i < b + 32; i++) {
                if (amax == 0) {
                    assertThat(r[i]).isZero();
                    continue;
                }
                double q = r[i] / d;
                assertThat(q).as("value %d on the grid", i).isEqualTo(Math.rint(q));
                assertThat(Math.abs(q)).isLessThanOrEqualTo(127);
                assertThat(Math.abs(x[i] * 127 / amax - q)).as("value %d", i).isLessThanOrEqualTo(0.5 + 1e-4);
            }
        }
    }

    private static double blockMax(float[] x, int from, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) m = Math.max(m, Math.abs(x[from + i]));
        return m;
    }

    /**
     * Q4_1 and Q5_1 add {@code m} times the activations' Q8_1 block sums (fp16 of the unrounded scale
     * times the integer sum, as llama.cpp's vec_dot does) at every batch size: a prompt's batched
     * product equals the batch-1 kernel's to float rounding. Using the sum of the rounded values
     * instead, as the batched path once did, was 100 to 300 times further off (2.8e-4 at batch 2).
     */
    @ParameterizedTest
    @EnumSource(names = {"Q4_1", "Q5_1"})
    void batchedOffsetsUseTheQ8_1BlockSumsAsBatchOneDoes(TensorType type) {
        Tensor w = RandomBlocks.tensor("w", type, ROWS, COLS, 5 + type.id());
        Random random = new Random(8);
        for (int batch : new int[] {2, 5, 70}) {
            float[] x = new float[batch * COLS];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            float[] out = new float[batch * ROWS];
            MatMul.matmul(w, x, batch, out);
            double worst = 0, mag = 0;
            for (int b = 0; b < batch; b++) {
                float[] one = new float[ROWS];
                MatMul.matmul(w, java.util.Arrays.copyOfRange(x, b * COLS, (b + 1) * COLS), 1, one);
                for (int r = 0; r < ROWS; r++) {
                    worst = Math.max(worst, Math.abs(one[r] - out[b * ROWS + r]));
                    mag = Math.max(mag, Math.abs(one[r]));
                }
            }
            System.out.printf("%s batch %d: max |batched - batch 1| = %.3g of max |out| %.3g%n", type, batch, worst, mag);
            assertThat(worst).as("%s batch %d", type, batch).isLessThan(2e-6 * mag);
        }
    }
}
