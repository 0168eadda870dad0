package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Q4_0 repacked 32 rows to a tile: the same values, the same products, the same bits in any batch. */
class Q4_0TilesTest {

    private static Tensor[] weights(int rows, int cols, long seed) {
        assumeThat(Q4_0Tiles.applies(rows, cols)).as("32 short lanes (512-bit vectors) in use").isTrue();
        Random random = new Random(seed);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        Tensor q40 = new Tensor("w", TensorType.Q4_0, new long[] {cols, rows}, Quant.quantize(TensorType.Q4_0, values));
        return new Tensor[] {q40, Q4_0Tiles.repacked(q40, Arena.ofAuto())};
    }

    @Test
    void repackedRowsDecodeToTheSameValues() {
        Tensor[] w = weights(96, 768, 5);
        assertThat(w[1].type()).isEqualTo(TensorType.Q4_0_R32);
        assertThat(w[1].data().byteSize()).isEqualTo(96L * 24 * 18);
        assertThat(Quant.dequantize(w[1])).containsExactly(Quant.dequantize(w[0]));
        float[] a = new float[768], b = new float[768];
        for (int row : new int[] {0, 31, 32, 70, 95}) {
            Quant.dequantizeRow(w[0], row, a, 0);
            Quant.dequantizeRow(w[1], row, b, 0);
            assertThat(b).as("row %d", row).containsExactly(a);
        }
    }

    @Test
    void productsMatchTheDequantizedProduct() {
        // 1-3 vectors one at a time, 4 a pass, and what is left over; from 32 the panels of Q4_KTilePanels
        // (33 and 70: a panel part padding); 64 rows are two tiles.
        for (int cols : new int[] {32, 160, 768}) {
            Tensor[] w = weights(64, cols, 7 + cols);
            float[] dense = Quant.dequantize(w[0]);
            Random random = new Random(cols);
            for (int batch : new int[] {1, 2, 3, 4, 5, 9, 31, 32, 33, 70}) {
                float[] x = new float[batch * cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                float[] out = new float[batch * 64];
                MatMul.matmul(w[1], x, batch, out);
                for (int b = 0; b < batch; b++) {
                    for (int r = 0; r < 64; r++) {
                        double exact = 0, mag = 0, rounding = 0;
                        for (int c = 0; c < cols; c++) {
                            double wv = dense[r * cols + c], xv = x[b * cols + c];
                            exact += wv * xv;
                            mag += Math.abs(wv * xv);
                            // half a step of the activation's Q8_0 rounding, its fp16 scale up to 2^-11 more
                            rounding += Math.abs(wv) * blockMax(x, b * cols + c / 32 * 32) / 127 * (0.5 + 127 * 0x1p-11);
                        }
                        assertThat(Math.abs(out[b * 64 + r] - exact)).as("batch %d row %d, %d columns", batch, r, cols)
                                .isLessThanOrEqualTo(1e-5 * mag + 1.001 * rounding);
                    }
                }
            }
        }
    }

    @Test
    void aVectorGetsTheSameBitsInAnyBatch() {
        Tensor[] w = weights(64, 512, 3);
        Random random = new Random(11);
        float[] x = new float[9 * 512];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        float[] all = new float[9 * 64], one = new float[64];
        // Until C2 has compiled the kernels, the Vector API's Java code may order its sums otherwise.
        long deadline = System.nanoTime() + 60_000_000_000L;
        boolean same;
        do {
            MatMul.matmul(w[1], x, 9, all);
            same = true;
            for (int b = 0; b < 9 && same; b++) {
                MatMul.matmul(w[1], Arrays.copyOfRange(x, b * 512, (b + 1) * 512), 1, one);
                same = Arrays.equals(one, 0, 64, all, b * 64, (b + 1) * 64);
            }
        } while (!same && System.nanoTime() < deadline);
        assertThat(same).as("each of 9 vectors (two passes of 4 and one alone) as alone").isTrue();
    }

    @Test
    void onlyWholeTilesOfWholeBlocksAreRepacked() {
        assertThat(Q4_0Tiles.applies(33, 256)).isFalse();
        assertThat(Q4_0Tiles.applies(32, 48)).isFalse();
        assertThat(Q4_0Tiles.applies(0, 256)).isFalse();
        // no file may declare the repacked layout
        assertThat(TensorType.byId(TensorType.Q4_0_R32.id())).isNull();
    }

    private static double blockMax(float[] x, int from) {
        double m = 0;
        for (int i = from; i < from + 32; i++) m = Math.max(m, Math.abs(x[i]));
        return m;
    }
}
