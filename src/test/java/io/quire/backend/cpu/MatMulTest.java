package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MatMulTest {
    private final Random random = new Random(42);

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    static Tensor tensor(TensorType type, int rows, int cols, float[] values) {
        return new Tensor("w", type, new long[] {cols, rows}, Quant.quantize(type, values));
    }

    private float[] randomValues(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }

    /** Double-precision reference: out[b][r] = sum_c w[r][c] * x[b][c]. */
    static double[] reference(float[] w, int rows, int cols, float[] x, int batch) {
        double[] out = new double[batch * rows];
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int c = 0; c < cols; c++) s += (double) w[r * cols + c] * x[b * cols + c];
                out[b * rows + r] = s;
            }
        }
        return out;
    }

    /** Error relative to the size of the terms (sum of |w||x|), so cancellation does not inflate it. */
    private static void assertClose(float[] actual, double[] expected, float[] w, int rows, int cols, float[] x,
            int batch, double tol, String what) {
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double mag = 0;
                for (int c = 0; c < cols; c++) mag += Math.abs((double) w[r * cols + c] * x[b * cols + c]);
                double err = Math.abs(actual[b * rows + r] - expected[b * rows + r]);
                assertThat(err).as("%s b=%d r=%d", what, b, r).isLessThanOrEqualTo(tol * Math.max(mag, 1e-30));
            }
        }
    }

    @Test
    void f32MatchesDoubleReference() {
        for (int batch : new int[] {1, 2, 5, 7, 32, 67}) {
            for (int[] shape : new int[][] {{37, 96}, {61, 100}, {64, 33}, {9, 7}}) {
                int rows = shape[0], cols = shape[1];
                float[] w = randomValues(rows * cols);
                float[] x = randomValues(batch * cols);
                float[] out = new float[batch * rows];
                MatMul.matmul(tensor(TensorType.F32, rows, cols, w), x, batch, out);
                assertClose(out, reference(w, rows, cols, x, batch), w, rows, cols, x, batch, 1e-5, "F32 " + rows + "x"
                        + cols + " batch " + batch);
            }
        }
    }

    @Test
    void storedTypesMatchDequantizeThenF32() {
        // Q8_0 and Q4_0 meet activations rounded through Q8_0 as in llama.cpp: QuantizedMatMulTest.
        for (TensorType type : new TensorType[] {TensorType.F16, TensorType.BF16}) {
            for (int batch : new int[] {1, 3, 7, 32, 70}) {
                for (int[] shape : new int[][] {{37, 96}, {70, 320}, {5, 32}}) {
                    int rows = shape[0], cols = shape[1];
                    Tensor t = tensor(type, rows, cols, randomValues(rows * cols));
                    float[] w = Quant.dequantize(t);
                    float[] x = randomValues(batch * cols);
                    float[] out = new float[batch * rows];
                    MatMul.matmul(t, x, batch, out);
                    assertClose(out, reference(w, rows, cols, x, batch), w, rows, cols, x, batch, 1e-4, type + " "
                            + rows + "x" + cols + " batch " + batch);
                }
            }
        }
    }

    @Test
    void oddColumnCountsForPlainTypes() {
        for (TensorType type : new TensorType[] {TensorType.F16, TensorType.BF16}) {
            int rows = 13, cols = 45;
            Tensor t = tensor(type, rows, cols, randomValues(rows * cols));
            float[] w = Quant.dequantize(t);
            for (int batch : new int[] {1, 6}) {
                float[] x = randomValues(batch * cols);
                float[] out = new float[batch * rows];
                MatMul.matmul(t, x, batch, out);
                assertClose(out, reference(w, rows, cols, x, batch), w, rows, cols, x, batch, 1e-4, type
                        + " odd cols batch " + batch);
            }
        }
    }

    @Test
    void oneAndTwoThreadsGiveIdenticalResults() {
        int rows = 203, cols = 1024;  // enough work that batch 1 goes parallel too
        assertThat((long) rows * cols).isGreaterThan(Parallel.MIN_PARALLEL_WORK);
        for (TensorType type : new TensorType[] {TensorType.F32, TensorType.Q8_0, TensorType.Q4_0, TensorType.Q4_K}) {
            Tensor t = type == TensorType.Q4_K ? RandomBlocks.tensor("w", type, rows, cols, 5)
                    : tensor(type, rows, cols, randomValues(rows * cols));
            // 200: the batch's packing into panels (BatchTile, Q4_0ShortTile, KQuantShortTile) runs on both threads
            for (int batch : new int[] {1, 9, 200}) {
                float[] x = randomValues(batch * cols);
                float[] one = new float[batch * rows];
                float[] two = new float[batch * rows];
                // Compiled kernels must agree bit for bit; until C2 has compiled them, the two threads may run
                // other tiers of the Vector API (PagedAttentionTest.oneAndTwoThreadsAgreeExactly), so repeat.
                long deadline = System.nanoTime() + 60_000_000_000L;
                float[] other = randomValues(batch * cols);
                do {
                    Parallel.setThreads(1);
                    MatMul.matmul(t, x, batch, one);
                    // Another input packed whole, so that a part the two threads left unpacked shows as its, not as x's
                    MatMul.matmul(t, other, batch, two);
                    Parallel.setThreads(2);
                    MatMul.matmul(t, x, batch, two);
                } while (!java.util.Arrays.equals(one, two) && System.nanoTime() < deadline);
                assertThat(two).as(type + " batch " + batch).containsExactly(one);
            }
        }
    }

    @Test
    void aVectorGivesTheSameBitsInAnyBatchAboveItsTypesSmallBatch() {
        // BatchTile sums each (row, vector) in one FMA chain whichever kernel and panel it lands in, and
        // TileDots (batches up to MatMul.TILE_DOT_BATCH) in one chain and one lane reduction: within each
        // path, a sequence's products must not change with the other sequences batched beside it. Q4_0's and
        // Q4_K's batches of 12-16 (Q4_0InterleavedTile, Q4_KInterleavedTile) take the large batches'
        // operations, and their bits.
        int rows = 37;  // not a multiple of the tile's
        for (TensorType type : new TensorType[] {TensorType.F32, TensorType.Q8_0, TensorType.Q4_0, TensorType.Q4_K}) {
            int c = type == TensorType.Q4_K ? 256 : 96;
            Tensor t = type == TensorType.Q4_K ? RandomBlocks.tensor("w", type, rows, c, 3)
                    : tensor(type, rows, c, randomValues(rows * c));
            float[] x = randomValues(70 * c);
            int dotLimit = type == TensorType.F32 ? 0 : MatMul.TILE_DOT_BATCH;
            // On a core that splits 512-bit ops (BatchTile.lanes), 2-8, 17-24, 33-40 and 49-56 take
            // 8-lane panels and the rest 16: both against batch 70's 16-lane panels.
            int[] batches = {2, 3, 5, 8, 9, 12, 16, 17, 18, 20, 21, 24, 25, 33, 40, 41, 56, 64};
            float[][] parts = new float[batches.length][], expected = new float[batches.length][];
            // Until C2 has compiled the kernels, the Vector API's Java code may sum lanes in another
            // order (aSmallBatchGivesEachVectorTheBitsItGetsAlone): repeat until the paths are compiled.
            long deadline = System.nanoTime() + 60_000_000_000L;
            boolean same;
            do {
                // The reference of each path: the last 70 vectors (outer products), the last dotLimit (dots).
                float[] all = new float[70 * rows];
                MatMul.matmul(t, x, 70, all);
                float[] dots = new float[Math.max(dotLimit, 1) * rows];
                if (dotLimit > MatMul.smallBatch(type)) {
                    MatMul.matmul(t, java.util.Arrays.copyOfRange(x, (70 - dotLimit) * c, 70 * c), dotLimit, dots);
                }
                same = true;
                for (int k = 0; k < batches.length; k++) {
                    int batch = batches[k];
                    if (batch <= MatMul.smallBatch(type)) continue;  // row by row: the next test
                    int first = 70 - batch;  // the last vectors of x, so they sit in other panels and lanes
                    parts[k] = new float[batch * rows];
                    MatMul.matmul(t, java.util.Arrays.copyOfRange(x, first * c, 70 * c), batch, parts[k]);
                    boolean dotted = batch <= dotLimit && !((type == TensorType.Q4_0 || type == TensorType.Q4_K)
                            && ShortTiles.interleaved(batch));
                    expected[k] = dotted
                            ? java.util.Arrays.copyOfRange(dots, (dotLimit - batch) * rows, dotLimit * rows)
                            : java.util.Arrays.copyOfRange(all, first * rows, 70 * rows);
                    same &= java.util.Arrays.equals(parts[k], expected[k]);
                }
            } while (!same && System.nanoTime() < deadline);
            int checked = 0;
            for (int k = 0; k < batches.length; k++) {
                if (parts[k] == null) continue;
                assertThat(parts[k]).as(type + " batch " + batches[k]).containsExactly(expected[k]);
                checked++;
            }
            assertThat(checked).as(type.toString()).isGreaterThanOrEqualTo(5);
        }
    }

    @Test
    void aSmallBatchGivesEachVectorTheBitsItGetsAlone() {
        int rows = 37;
        int rowByRow = 0;
        for (TensorType type : new TensorType[] {TensorType.F32, TensorType.Q8_0, TensorType.Q4_0, TensorType.Q4_K,
                TensorType.Q6_K, TensorType.Q3_K, TensorType.IQ4_XS, TensorType.BF16, TensorType.Q4_1, TensorType.Q5_0,
                TensorType.Q5_1, TensorType.IQ4_NL}) {
            // At most 19 (F32's limit is 32): pairs, an odd vector, and more than one panel's worth.
            int limit = Math.min(MatMul.smallBatch(type), 19);
            if (limit > 1) rowByRow++;  // a type of limit 1 (its batched path wins from 2) checks only the rounding below
            int c = type == TensorType.F32 ? 520 : 512;  // F32: a scalar tail of columns too
            boolean plain = type == TensorType.Q8_0 || type == TensorType.Q4_0 || type == TensorType.BF16
                    || type == TensorType.F32;
            Tensor t = plain ? tensor(type, rows, c, randomValues(rows * c)) : RandomBlocks.tensor("w", type, rows, c, 17 + type.id());
            float[] x = randomValues(limit * c);
            float[][] alone = new float[limit][rows];
            float[][] got = new float[limit + 1][];
            // The same kernel per vector either way; but until C2 has compiled it, the Vector API's Java code
            // may sum its lanes in another order (oneAndTwoThreadsGiveIdenticalResults), so repeat.
            long deadline = System.nanoTime() + 60_000_000_000L;
            boolean same;
            do {
                for (int b = 0; b < limit; b++) {
                    MatMul.matmul(t, java.util.Arrays.copyOfRange(x, b * c, (b + 1) * c), 1, alone[b]);
                }
                same = true;
                for (int batch = 2; batch <= limit; batch++) {
                    got[batch] = new float[batch * rows];
                    MatMul.matmul(t, x, batch, got[batch]);
                    for (int b = 0; b < batch; b++) {
                        same &= java.util.Arrays.equals(got[batch], b * rows, (b + 1) * rows, alone[b], 0, rows);
                    }
                }
            } while (!same && System.nanoTime() < deadline);
            for (int batch = 2; batch <= limit; batch++) {
                for (int b = 0; b < batch; b++) {
                    assertThat(java.util.Arrays.copyOfRange(got[batch], b * rows, (b + 1) * rows))
                            .as("%s batch %d vector %d", type, batch, b).containsExactly(alone[b]);
                }
            }
            // Above the limit the batched path gives the same values to rounding.
            if (limit < MatMul.smallBatch(type)) continue;
            float[] x2 = randomValues((limit + 1) * c);
            float[] batched = new float[(limit + 1) * rows];
            MatMul.matmul(t, x2, limit + 1, batched);
            float[] one = new float[rows];
            MatMul.matmul(t, java.util.Arrays.copyOfRange(x2, limit * c, (limit + 1) * c), 1, one);
            for (int r = 0; r < rows; r++) {
                assertThat(batched[limit * rows + r]).as("%s row %d", type, r)
                        .isCloseTo(one[r], org.assertj.core.api.Assertions.within(2e-3f * (1 + Math.abs(one[r]))));
            }
        }
        assertThat(rowByRow).as("types going row by row").isGreaterThanOrEqualTo(5);
    }

    @Test
    void heapSegmentsGiveTheSameResultAsNative() {
        int rows = 19, cols = 64;
        for (TensorType type : new TensorType[] {TensorType.F32, TensorType.Q4_0}) {
            Tensor t = tensor(type, rows, cols, randomValues(rows * cols));
            Tensor heap = new Tensor("heap", type, t.shape(),
                    java.lang.foreign.MemorySegment.ofArray(t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)));
            float[] x = randomValues(3 * cols);
            float[] a = new float[3 * rows];
            float[] b = new float[3 * rows];
            // The same kernels either way; but until C2 has compiled both paths, the Vector API's Java
            // code may sum lanes in another order (oneAndTwoThreadsGiveIdenticalResults), so repeat.
            long deadline = System.nanoTime() + 60_000_000_000L;
            do {
                MatMul.matmul(t, x, 3, a);
                MatMul.matmul(heap, x, 3, b);
            } while (!java.util.Arrays.equals(a, b) && System.nanoTime() < deadline);
            assertThat(b).containsExactly(a);
            assertThat(Quant.dequantize(heap)).containsExactly(Quant.dequantize(t));
        }
    }

    @Test
    void rejectsBadShapes() {
        Tensor t = tensor(TensorType.Q8_0, 4, 64, randomValues(256));
        assertThatThrownBy(() -> MatMul.matmul(t, new float[63], 1, new float[4]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("input");
        assertThatThrownBy(() -> MatMul.matmul(t, new float[64], 1, new float[3]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("output");
        Tensor shortData = new Tensor("s", TensorType.F32, new long[] {64, 4},
                java.lang.foreign.MemorySegment.ofArray(new byte[64 * 4 * 4 - 1]));
        assertThatThrownBy(() -> MatMul.matmul(shortData, new float[64], 1, new float[4]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bytes of data");
        Tensor iq2 = new Tensor("k", TensorType.IQ2_XXS, new long[] {256, 1},
                java.lang.foreign.MemorySegment.ofArray(new byte[66]));
        assertThatThrownBy(() -> MatMul.matmul(iq2, new float[256], 1, new float[1]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("IQ2_XXS")
                .hasMessageContaining("Q6_K");
    }
}
