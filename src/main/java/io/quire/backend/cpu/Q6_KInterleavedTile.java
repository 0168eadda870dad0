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
 * Q6_K's batches of 12 to 16 vectors in one panel of column pairs, as {@link Q4_KInterleavedTile} does
 * Q4_K's (the same packed Q8_K panel), with {@link Q6_KShortTile}'s arithmetic: the tile holds
 * {@code q - 32}, each int lane's two halves sum a 16-value group's eight pairs exactly (at most 8 x 32 x
 * 127 each), the halves are sign-extended and added as ints (their sum may not fit a short), and the
 * group's sum goes to floats times {@code d sc_g} and the vector's {@code d_x}: the same float operations
 * on the same sums as {@link Q6_KShortTile}, so a vector gets the same bits in a batch of 12-16 as in one
 * of 21 or more.
 */
final class Q6_KInterleavedTile {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Short> S = Simd.SW;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BW = Simd.BW;
    private static final int SL = Q4_0InterleavedTile.SL;
    private static final int MAX_BATCH = Q4_0InterleavedTile.MAX_BATCH;
    private static final int ROWS = Q4_0InterleavedTile.ROWS;
    private static final int BLOCK_BYTES = 210;

    private Q6_KInterleavedTile() {}

    static {
        int[] w = new int[ROWS * 8];
        short[] xs = new short[8 * SL];
        float[] dw = new float[ROWS], xd = new float[MAX_BATCH], tile = new float[ROWS * MAX_BATCH];
        for (int i = 0; i < 1000; i++) kernel4(w, 0, dw, 0, 16, xs, xd, tile);
    }

    /**
     * {@link Q6_KShortTile#multiply} for one panel of column pairs ({@link Q4_KInterleavedTile#pack}'s): w
     * holds row i's {@code q - 32} pairs from {@code i*cols/2}, dw its groups' {@code d sc_g}.
     */
    static void multiply(long first, int nr, int tileRows, int cols, ShortTiles.Panels x, int batch, float[] out,
            int rows, int r0, int[] w, float[] dw, float[] tile, float[] res) {
        unpack(first, nr, tileRows, cols, w, dw);
        int groups = cols / 16;
        for (int i = 0; i < nr; i += ROWS) {
            kernel4(w, i * cols / 2, dw, i * groups, cols, x.qs(), x.d(), tile);
            Q4_0InterleavedTile.gather(tile, Math.min(ROWS, nr - i), batch, res, tileRows, i);
        }
        for (int b = 0; b < batch; b++) System.arraycopy(res, b * tileRows, out, b * rows + r0, nr);
    }

    /** {@link Q6_KShortTile#unpack}, two values to an int; rows nr..tileRows-1 zero. */
    static void unpack(long first, int nr, int tileRows, int cols, int[] w, float[] dw) {
        final MemorySegment seg = Simd.ALL;
        final ShortVector bias = ShortVector.broadcast(S, (short) 32);
        int groups = cols / 16;
        long rowBytes = (long) BLOCK_BYTES * (cols / 256);
        for (int i = 0; i < nr; i++) {
            long off = first + i * rowBytes;
            for (int blk = 0; blk < cols / 256; blk++, off += BLOCK_BYTES) {
                Q6_KShortTile.groupScales(off, dw, i * groups + 16 * blk);
                for (int n = 0; n < 2; n++) {
                    long ql = off + 64 * n, qh = off + 128 + 32 * n;
                    int at = (i * cols + 256 * blk + 128 * n) / 2;
                    for (int l = 0; l < 32; l += SL) {
                        ShortVector a = (ShortVector) ByteVector.fromMemorySegment(BW, seg, ql + l, LE)
                                .convertShape(ZERO_EXTEND_B2S, S, 0);
                        ShortVector b = (ShortVector) ByteVector.fromMemorySegment(BW, seg, ql + 32 + l, LE)
                                .convertShape(ZERO_EXTEND_B2S, S, 0);
                        ShortVector h = (ShortVector) ByteVector.fromMemorySegment(BW, seg, qh + l, LE)
                                .convertShape(ZERO_EXTEND_B2S, S, 0);
                        a.and((short) 15).or(h.and((short) 3).lanewise(LSHL, 4)).sub(bias)
                                .reinterpretAsInts().intoArray(w, at + l / 2);
                        b.and((short) 15).or(h.and((short) 12).lanewise(LSHL, 2)).sub(bias)
                                .reinterpretAsInts().intoArray(w, at + 16 + l / 2);
                        a.lanewise(LSHR, 4).or(h.and((short) 48)).sub(bias)
                                .reinterpretAsInts().intoArray(w, at + 32 + l / 2);
                        b.lanewise(LSHR, 4).or(h.and((short) 192).lanewise(LSHR, 2)).sub(bias)
                                .reinterpretAsInts().intoArray(w, at + 48 + l / 2);
                    }
                }
            }
        }
        java.util.Arrays.fill(w, nr * cols / 2, tileRows * cols / 2, 0);
        java.util.Arrays.fill(dw, nr * groups, tileRows * groups, 0f);
    }

    /**
     * Four rows times the panel, per 16-value group: eight pairs into short halves, the halves added as
     * ints, to floats times {@code d sc_g}, an FMA with d_x. Row r's sums at {@code tile[r*MAX_BATCH]}.
     * Written out: a helper taking or returning a vector is boxed unless C2 inlines it.
     */
    private static void kernel4(int[] w, int wOff, float[] dw, int dOff, int cols, short[] xs, float[] xd,
            float[] tile) {
        final int groups = cols / 16;
        final int half = cols / 2;
        final int w0 = wOff, w1 = w0 + half, w2 = w1 + half, w3 = w2 + half;
        final int d1 = dOff + groups, d2 = d1 + groups, d3 = d2 + groups;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < groups; g++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int c = 8 * g; c < 8 * g + 8; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, c * SL);
                s0 = IntVector.broadcast(I, w[w0 + c]).reinterpretAsShorts().mul(v).add(s0);
                s1 = IntVector.broadcast(I, w[w1 + c]).reinterpretAsShorts().mul(v).add(s1);
                s2 = IntVector.broadcast(I, w[w2 + c]).reinterpretAsShorts().mul(v).add(s2);
                s3 = IntVector.broadcast(I, w[w3 + c]).reinterpretAsShorts().mul(v).add(s3);
            }
            // The block's d_x per vector, at the panel's scales of the 32-value group that holds this one.
            FloatVector x = FloatVector.fromArray(F, xd, (g / 2) * MAX_BATCH);
            IntVector t;
            t = s0.reinterpretAsInts();
            a0 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0))
                    .mul(dw[dOff + g]).fma(x, a0);
            t = s1.reinterpretAsInts();
            a1 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0))
                    .mul(dw[d1 + g]).fma(x, a1);
            t = s2.reinterpretAsInts();
            a2 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0))
                    .mul(dw[d2 + g]).fma(x, a2);
            t = s3.reinterpretAsInts();
            a3 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0))
                    .mul(dw[d3 + g]).fma(x, a3);
        }
        a0.intoArray(tile, 0); a1.intoArray(tile, MAX_BATCH); a2.intoArray(tile, 2 * MAX_BATCH);
        a3.intoArray(tile, 3 * MAX_BATCH);
    }
}
