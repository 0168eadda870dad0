package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Q4_K, Q4_0 and Q6_K repacked 32 rows to a tile ({@link Q4_KTiles}, {@link Q4_0Tiles}, {@link Q6_KTiles}):
 * the same values, the same products, the same bits in any batch its own kernels take.
 */
class RepackedTilesTest {

    /** The stored weight of {@code type} (Q4_K, Q6_K: random blocks; Q4_0: Quire's quantization) and its repacked copy. */
    private static Tensor[] weights(TensorType type, int rows, int cols, long seed) {
        boolean q4k = type == TensorType.Q4_K, q6k = type == TensorType.Q6_K;
        assumeThat(q4k ? Q4_KTiles.applies(rows, cols) : q6k ? Q6_KTiles.applies(rows, cols) : Q4_0Tiles.applies(rows, cols))
                .as("32 short lanes (512-bit vectors) in use").isTrue();
        if (q4k) {
            Tensor w = RandomBlocks.tensor("w", type, rows, cols, seed);
            return new Tensor[] {w, Q4_KTiles.repacked(w, Arena.ofAuto())};
        }
        if (q6k) {
            Tensor w = RandomBlocks.tensor("w", type, rows, cols, seed);
            return new Tensor[] {w, Q6_KTiles.repacked(w, Arena.ofAuto())};
        }
        Random random = new Random(seed);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        Tensor w = new Tensor("w", type, new long[] {cols, rows}, Quant.quantize(type, values));
        return new Tensor[] {w, Q4_0Tiles.repacked(w, Arena.ofAuto())};
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_K", "Q4_0", "Q6_K"})
    void repackedRowsDecodeToTheSameValues(TensorType type) {
        Tensor[] w = weights(type, 96, 768, 5);
        assertThat(w[1].type()).isEqualTo(switch (type) {
            case Q4_K -> TensorType.Q4_K_R32;
            case Q6_K -> TensorType.Q6_K_R32;
            default -> TensorType.Q4_0_R32;
        });
        assertThat(w[1].data().byteSize()).isEqualTo(switch (type) {
            case Q4_K -> 96L * 3 * 152;
            case Q6_K -> 96L * 3 * 212;
            default -> 96L * 24 * 18;
        });
        assertThat(Quant.dequantize(w[1])).containsExactly(Quant.dequantize(w[0]));
        float[] a = new float[768], b = new float[768];
        for (int row : new int[] {0, 31, 32, 70, 95}) {
            Quant.dequantizeRow(w[0], row, a, 0);
            Quant.dequantizeRow(w[1], row, b, 0);
            assertThat(b).as("row %d", row).containsExactly(a);
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_K", "Q4_0", "Q6_K"})
    void productsMatchTheDequantizedProduct(TensorType type) {
        int block = type.blockSize();  // of the activation's rounding too: Q8_K, Q8_0
        // 1-3 vectors one at a time, 4 a pass, and what is left over; from 32 the panels of Q4_KTilePanels
        // (33 and 70: a panel part padding); Q6_K's 12-16 in Q6_KTilePairs, from 17 Q6_KTilePanels; 64 rows
        // are two tiles.
        int[] batches = type == TensorType.Q6_K ? new int[] {1, 2, 4, 5, 11, 12, 16, 17, 32, 33}
                : new int[] {1, 2, 3, 4, 5, 9, 31, 32, 33, 70};
        for (int cols : type == TensorType.Q4_0 ? new int[] {32, 160, 768} : new int[] {256, 768}) {
            Tensor[] w = weights(type, 64, cols, 7 + cols);
            float[] dense = Quant.dequantize(w[0]);
            Random random = new Random(cols);
            for (int batch : batches) {
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
                            // half a step of the activation's rounding; Q8_0's fp16 scale adds up to 2^-11
                            double step = blockMax(x, b * cols + c / block * block, block) / 127;
                            rounding += Math.abs(wv) * (block == 256 ? step / 2 : step * (0.5 + 127 * 0x1p-11));
                        }
                        assertThat(Math.abs(out[b * 64 + r] - exact)).as("batch %d row %d, %d columns", batch, r, cols)
                                .isLessThanOrEqualTo(1e-5 * mag + 1.001 * rounding);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_K", "Q4_0", "Q6_K"})
    void aVectorGetsTheSameBitsInAnyBatch(TensorType type) {
        Tensor[] w = weights(type, 64, 512, 3);
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

    @ParameterizedTest
    @EnumSource(names = {"Q4_K", "Q4_0", "Q6_K"})
    void aLongPromptGetsTheSameBitsOnOneThreadAndTwo(TensorType type) {
        // 160 vectors of 512: the panels are packed on both threads (KQuantShortTile, Q4_0ShortTile).
        Tensor[] w = weights(type, 64, 512, 7);
        Random random = new Random(13);
        int batch = 160;
        float[] x = new float[batch * 512], other = new float[batch * 512];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        for (int i = 0; i < other.length; i++) other[i] = (float) random.nextGaussian();
        float[] one = new float[batch * 64], two = new float[batch * 64];
        long deadline = System.nanoTime() + 60_000_000_000L;
        try {
            do {
                Parallel.setThreads(1);
                MatMul.matmul(w[1], x, batch, one);
                // Another input packed whole, so that a part the two threads left unpacked shows as its, not as x's
                MatMul.matmul(w[1], other, batch, two);
                Parallel.setThreads(2);
                MatMul.matmul(w[1], x, batch, two);
            } while (!Arrays.equals(one, two) && System.nanoTime() < deadline);
        } finally {
            Parallel.setThreads(Runtime.getRuntime().availableProcessors());
        }
        assertThat(two).containsExactly(one);
    }

    @Test
    void onlyWholeTilesOfWholeBlocksAreRepacked() {
        assertThat(Q4_KTiles.applies(33, 256)).isFalse();
        assertThat(Q4_KTiles.applies(32, 128)).isFalse();
        assertThat(Q4_KTiles.applies(0, 256)).isFalse();
        assertThat(Q4_0Tiles.applies(33, 256)).isFalse();
        assertThat(Q4_0Tiles.applies(32, 48)).isFalse();
        assertThat(Q4_0Tiles.applies(0, 256)).isFalse();
        assertThat(Q6_KTiles.applies(33, 256)).isFalse();
        assertThat(Q6_KTiles.applies(32, 128)).isFalse();
        // no file may declare a repacked layout
        assertThat(TensorType.byId(TensorType.Q4_K_R32.id())).isNull();
        assertThat(TensorType.byId(TensorType.Q4_0_R32.id())).isNull();
        assertThat(TensorType.byId(TensorType.Q6_K_R32.id())).isNull();
    }

    private static double blockMax(float[] x, int from, int n) {
        double m = 0;
        for (int i = from; i < from + n; i++) m = Math.max(m, Math.abs(x[i]));
        return m;
    }
}
