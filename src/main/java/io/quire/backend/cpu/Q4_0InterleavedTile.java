package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q4_0 batches of {@link #MIN_BATCH} to {@link #MAX_BATCH} vectors (12 to 16 on 16-float-lane machines;
 * a 16-token prompt, a dozen streams) in 16-bit lanes, in one panel whose short lanes hold each
 * vector's columns in pairs: lanes 2j and 2j+1 are vector j's columns c and c+1. A row's two weights
 * are broadcast as one int, multiplied into the panel and added, in short lanes; at a block's end each
 * int lane's two halves (at most 16 x 8 x 127 each, their sum at most 32,512) are added exactly, and the
 * block sum goes to floats times the two scales as {@link Q4_0ShortTile} does: the same float
 * operations on the same block sums, so a vector gets the same bits from either class. A panel of
 * {@link Q4_0ShortTile} holds SL vectors one short lane each, and costs as much for 12 as for 32; here
 * the lanes are full from 16, and the tile is unpacked once for all of them. `bench kernels --rows 3072
 * --cols 768 --types Q4_0 --threads 1`, best us, three JVMs each, the tile dots against this: batch 12
 * 806-827 against 762-765, 16 1,032-1,066 against 783-788; below 12 the tile dots cost less (541 at 8),
 * and two such panels (17-20 vectors) ran 1,232-2,112 against the tile dots' 1,243-1,284.
 */
final class Q4_0InterleavedTile {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Short> S = Simd.SW;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;

    /** Short lanes of a vector: the panel's width in columns times vectors. */
    static final int SL = S.length();
    /** The panel's vectors: two short lanes each. */
    static final int MAX_BATCH = SL / 2;
    /** The smallest batch that takes this class: below it the tile dots cost less. */
    static final int MIN_BATCH = 12;
    /** Rows per kernel call. */
    static final int ROWS = 4;

    private Q4_0InterleavedTile() {}

    static {
        prime();
    }

    /** See {@link Q4_0ShortTile}'s prime: the kernel runs once on a small block before it is hot. */
    private static void prime() {
        int[] w = new int[ROWS * 16];
        short[] xs = new short[16 * SL];
        float[] dw = new float[ROWS], xd = new float[MAX_BATCH], tile = new float[ROWS * MAX_BATCH];
        for (int i = 0; i < 1000; i++) kernel4(w, 0, dw, 0, 32, xs, xd, tile);
    }

    /** Whether a Q4_0 batch of this size takes this class (never with 8 float lanes: the tile dots are off there). */
    static boolean takes(int batch) {
        return batch >= MIN_BATCH && batch <= MAX_BATCH;
    }

    /** Shorts of a batch's panel. */
    static int packedLength(int cols) {
        return SL * cols / 2;
    }

    /**
     * x ({@code batch} vectors of cols) quantized to Q8_0 as {@link Q4_0ShortTile#pack} does, into one
     * panel: integers {@code qs[(c/2)*SL + 2j + c%2]} for vector j, scales {@code d[k*MAX_BATCH + j]} per
     * block k; padding vectors get zeros.
     */
    static void pack(float[] x, int batch, int cols, short[] qs, float[] d) {
        int blocks = cols / 32;
        int[] q = Q8_0Activation.blockInts();
        for (int j = 0; j < MAX_BATCH; j++) {
            for (int k = 0; k < blocks; k++) {
                float scale = 0f;
                if (j < batch) scale = Q8_0Activation.quantizeBlock(x, j * cols + 32 * k, q);
                else java.util.Arrays.fill(q, 0);
                d[k * MAX_BATCH + j] = scale;
                for (int c = 0; c < 32; c++) qs[(16 * k + c / 2) * SL + 2 * j + c % 2] = (short) q[c];
            }
        }
    }

    /**
     * Rows {@code r0 .. r0+nr-1} of out for the whole batch, as {@link Q4_0ShortTile#multiply}: the rows
     * unpacked into w (row i's columns c and c+1 in {@code w[i*cols/2 + c/2]}) and dw, then multiplied
     * ROWS at a time; the sums gather in res and go to out a vector's rows at a time.
     */
    static void multiply(long first, int nr, int tileRows, int cols, ShortTiles.Panels x, int batch,
            float[] out, int rows, int r0, int[] w, float[] dw, float[] tile, float[] res) {
        unpack(first, nr, tileRows, cols, w, dw);
        int blocks = cols / 32;
        for (int i = 0; i < nr; i += ROWS) {
            kernel4(w, i * cols / 2, dw, i * blocks, cols, x.qs(), x.d(), tile);
            gather(tile, Math.min(ROWS, nr - i), batch, res, tileRows, i);
        }
        for (int b = 0; b < batch; b++) System.arraycopy(res, b * tileRows, out, b * rows + r0, nr);
    }

    /** A kernel's sums (row r at {@code tile[r*MAX_BATCH]}) for n rows from i into res, vector by vector. */
    static void gather(float[] tile, int n, int batch, float[] res, int tileRows, int i) {
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < batch; j++) res[j * tileRows + i + r] = tile[r * MAX_BATCH + j];
        }
    }

    /** Q4_0 rows into their values minus 8, two shorts to an int, and their scales; rows nr..tileRows-1 zero. */
    static void unpack(long first, int nr, int tileRows, int cols, int[] w, float[] dw) {
        final MemorySegment seg = Simd.ALL;
        int blocks = cols / 32;
        long rowBytes = 18L * blocks;
        for (int i = 0; i < nr; i++) {
            long row = first + i * rowBytes;
            int wAt = i * (cols / 2), dAt = i * blocks;
            for (int k = 0; k < blocks; k++) {
                long off = row + 18L * k;
                dw[dAt + k] = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
                ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 2, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                q.and((short) 15).sub((short) 8).reinterpretAsInts().intoArray(w, wAt + 16 * k);
                q.lanewise(LSHR, 4).sub((short) 8).reinterpretAsInts().intoArray(w, wAt + 16 * k + 8);
            }
        }
        java.util.Arrays.fill(w, nr * cols / 2, tileRows * cols / 2, 0);
        java.util.Arrays.fill(dw, nr * blocks, tileRows * blocks, 0f);
    }

    /**
     * Four rows times the panel: per block, each row's sum in one short vector (two partial sums per
     * vector), then those added in int lanes, to floats, times the row's scale, into a float sum with the
     * vectors' scales (an FMA). Row r's sums at {@code tile[r*MAX_BATCH]}. Written out: a helper taking
     * or returning a vector is boxed unless C2 inlines it.
     */
    private static void kernel4(int[] w, int wOff, float[] dw, int dOff, int cols, short[] xs, float[] xd,
            float[] tile) {
        final int blocks = cols / 32;
        final int half = cols / 2;
        final int w0 = wOff, w1 = w0 + half, w2 = w1 + half, w3 = w2 + half;
        final int d1 = dOff + blocks, d2 = d1 + blocks, d3 = d2 + blocks;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < blocks; k++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int c = 16 * k; c < 16 * k + 16; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, c * SL);
                s0 = IntVector.broadcast(I, w[w0 + c]).reinterpretAsShorts().mul(v).add(s0);
                s1 = IntVector.broadcast(I, w[w1 + c]).reinterpretAsShorts().mul(v).add(s1);
                s2 = IntVector.broadcast(I, w[w2 + c]).reinterpretAsShorts().mul(v).add(s2);
                s3 = IntVector.broadcast(I, w[w3 + c]).reinterpretAsShorts().mul(v).add(s3);
            }
            FloatVector x = FloatVector.fromArray(F, xd, k * MAX_BATCH);
            IntVector t;
            t = s0.reinterpretAsInts();
            a0 = ((FloatVector) t.add(t.lanewise(LSHL, 16)).lanewise(ASHR, 16).convert(I2F, 0))
                    .mul(FloatVector.broadcast(F, dw[dOff + k])).fma(x, a0);
            t = s1.reinterpretAsInts();
            a1 = ((FloatVector) t.add(t.lanewise(LSHL, 16)).lanewise(ASHR, 16).convert(I2F, 0))
                    .mul(FloatVector.broadcast(F, dw[d1 + k])).fma(x, a1);
            t = s2.reinterpretAsInts();
            a2 = ((FloatVector) t.add(t.lanewise(LSHL, 16)).lanewise(ASHR, 16).convert(I2F, 0))
                    .mul(FloatVector.broadcast(F, dw[d2 + k])).fma(x, a2);
            t = s3.reinterpretAsInts();
            a3 = ((FloatVector) t.add(t.lanewise(LSHL, 16)).lanewise(ASHR, 16).convert(I2F, 0))
                    .mul(FloatVector.broadcast(F, dw[d3 + k])).fma(x, a3);
        }
        a0.intoArray(tile, 0); a1.intoArray(tile, MAX_BATCH); a2.intoArray(tile, 2 * MAX_BATCH);
        a3.intoArray(tile, 3 * MAX_BATCH);
    }
}
