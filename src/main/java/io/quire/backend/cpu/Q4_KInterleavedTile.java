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
 * Q4_K's and Q5_K's batches of 12 to 16 vectors in one panel of column pairs, as {@link Q4_0InterleavedTile}
 * does Q4_0's, with {@link KQuantShortTile}'s arithmetic: the tile holds {@code 8 - q}, a group's 32 products
 * sum exactly in a short (each int lane's two halves at most 16 x 8 x 127), and the group's sum goes to
 * floats with {@code -d sc_g}, the vector's {@code d_x} and the row's {@code 8 d sc_g - dmin m_g} times the
 * group's {@code b_g d_x}: the same float operations on the same sums as {@link KQuantShortTile}, so a
 * vector gets the same bits in a batch of 12-16 as in one of 21 or more. Q5_K's tile holds {@code 16 - q}:
 * each half still fits a short (16 x 16 x 127), their sum may not, so they are sign-extended and added as ints.
 */
final class Q4_KInterleavedTile {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Short> S = Simd.SW;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BW = Simd.BW;
    private static final int SL = Q4_0InterleavedTile.SL;
    private static final int MAX_BATCH = Q4_0InterleavedTile.MAX_BATCH;
    private static final int ROWS = Q4_0InterleavedTile.ROWS;

    private Q4_KInterleavedTile() {}

    static {
        int[] w = new int[ROWS * 16];
        short[] xs = new short[16 * SL];
        float[] dw = new float[ROWS], xd = new float[MAX_BATCH], tile = new float[ROWS * MAX_BATCH];
        for (int i = 0; i < 1000; i++) {
            kernel4(w, 0, dw, dw, 0, 32, xs, xd, xd, tile);
            kernel4Halves(w, 0, dw, dw, 0, 32, xs, xd, xd, tile);
        }
    }

    /**
     * x ({@code batch} vectors of cols, a multiple of 256) as Q8_K integers into one panel laid out as
     * {@link Q4_0InterleavedTile#pack} does; per group g, {@code d[g*MAX_BATCH + j]} holds vector j's block
     * scale and {@code sums} the group's sum of integers times it. Padding vectors get zeros.
     */
    static void pack(float[] x, int batch, int cols, short[] qs, float[] d, float[] sums) {
        int groups = cols / 32;
        for (int j = 0; j < MAX_BATCH; j++) {
            Q8K y = j < batch ? Q8K.local(x, j * cols, cols) : null;
            for (int g = 0; g < groups; g++) {
                float dx = y == null ? 0f : y.d[g / 8];
                d[g * MAX_BATCH + j] = dx;
                sums[g * MAX_BATCH + j] = y == null ? 0f : y.sums32[g] * dx;
                for (int c = 0; c < 32; c++) {
                    qs[(16 * g + c / 2) * SL + 2 * j + c % 2] = y == null ? 0 : y.qs[32 * g + c];
                }
            }
        }
    }

    /**
     * {@link KQuantShortTile#multiply} for one panel of column pairs: w holds row i's {@code 8 - q} pairs
     * ({@code fifthBit}, Q5_K: {@code 16 - q}) from {@code i*cols/2}.
     */
    static void multiply(boolean fifthBit, long first, int nr, int tileRows, int cols, ShortTiles.Panels x, int batch,
            float[] out, int rows, int r0, int[] w, float[] dw, float[] cw, float[] tile, float[] res) {
        unpack(fifthBit, first, nr, tileRows, cols, w, dw, cw);
        int groups = cols / 32;
        for (int i = 0; i < nr; i += ROWS) {
            if (fifthBit) kernel4Halves(w, i * cols / 2, dw, cw, i * groups, cols, x.qs(), x.d(), x.sums(), tile);
            else kernel4(w, i * cols / 2, dw, cw, i * groups, cols, x.qs(), x.d(), x.sums(), tile);
            Q4_0InterleavedTile.gather(tile, Math.min(ROWS, nr - i), batch, res, tileRows, i);
        }
        for (int b = 0; b < batch; b++) System.arraycopy(res, b * tileRows, out, b * rows + r0, nr);
    }

    /** {@link KQuantShortTile#unpack}, two values to an int; rows nr..tileRows-1 zero. */
    static void unpack(boolean fifthBit, long first, int nr, int tileRows, int cols, int[] w, float[] dw, float[] cw) {
        final MemorySegment seg = Simd.ALL;
        final int offset = fifthBit ? 16 : 8;
        final ShortVector top = ShortVector.broadcast(S, (short) offset);
        final int blockBytes = fifthBit ? 176 : 144;
        final long ql = fifthBit ? 48 : 16;
        int groups = cols / 32;
        long rowBytes = (long) blockBytes * (cols / 256);
        for (int i = 0; i < nr; i++) {
            long off = first + i * rowBytes;
            for (int blk = 0; blk < cols / 256; blk++, off += blockBytes) {
                KQuantShortTile.groupFactors(off, offset, dw, cw, i * groups + 8 * blk);
                // 32 bytes per pair of groups: low nibbles the first group, high ones the second.
                for (int h = 0; h < 4; h++) {
                    int at = (i * cols + 256 * blk + 64 * h) / 2;
                    for (int k = 0; k < 32; k += SL) {
                        ShortVector q = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + ql + 32 * h + k, LE)
                                .convertShape(ZERO_EXTEND_B2S, S, 0);
                        ShortVector lo = q.and((short) 15), hi = q.lanewise(LSHR, 4);
                        if (fifthBit) {
                            // As KQuantShortTile.unpack: bit 2h of qh[l] is the first group's fifth bit, 2h+1 the second's.
                            ShortVector qh = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + 16 + k, LE)
                                    .convertShape(ZERO_EXTEND_B2S, S, 0);
                            lo = lo.or(qh.lanewise(LSHR, 2 * h).and((short) 1).lanewise(LSHL, 4));
                            hi = hi.or(qh.lanewise(LSHR, 2 * h + 1).and((short) 1).lanewise(LSHL, 4));
                        }
                        top.sub(lo).reinterpretAsInts().intoArray(w, at + k / 2);
                        top.sub(hi).reinterpretAsInts().intoArray(w, at + 16 + k / 2);
                    }
                }
            }
        }
        java.util.Arrays.fill(w, nr * cols / 2, tileRows * cols / 2, 0);
        java.util.Arrays.fill(dw, nr * groups, tileRows * groups, 0f);
        java.util.Arrays.fill(cw, nr * groups, tileRows * groups, 0f);
    }

    /**
     * Four rows times the panel, per group as {@link KQuantShortTile}'s kernel4 on the group's exact sum
     * (here two halves per int lane, added first). Row r's sums at {@code tile[r*MAX_BATCH]}. Written out:
     * a helper taking or returning a vector is boxed unless C2 inlines it.
     */
    private static void kernel4(int[] w, int wOff, float[] dw, float[] cw, int dOff, int cols, short[] xs,
            float[] xd, float[] xb, float[] tile) {
        final int groups = cols / 32;
        final int half = cols / 2;
        final int w0 = wOff, w1 = w0 + half, w2 = w1 + half, w3 = w2 + half;
        final int d1 = dOff + groups, d2 = d1 + groups, d3 = d2 + groups;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < groups; g++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int c = 16 * g; c < 16 * g + 16; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, c * SL);
                s0 = IntVector.broadcast(I, w[w0 + c]).reinterpretAsShorts().mul(v).add(s0);
                s1 = IntVector.broadcast(I, w[w1 + c]).reinterpretAsShorts().mul(v).add(s1);
                s2 = IntVector.broadcast(I, w[w2 + c]).reinterpretAsShorts().mul(v).add(s2);
                s3 = IntVector.broadcast(I, w[w3 + c]).reinterpretAsShorts().mul(v).add(s3);
            }
            FloatVector x = FloatVector.fromArray(F, xd, g * MAX_BATCH);
            FloatVector b = FloatVector.fromArray(F, xb, g * MAX_BATCH);
            IntVector t;
            t = s0.reinterpretAsInts();
            a0 = ((FloatVector) t.add(t.lanewise(LSHL, 16)).lanewise(ASHR, 16).convert(I2F, 0)).mul(dw[dOff + g])
                    .fma(x, b.fma(FloatVector.broadcast(F, cw[dOff + g]), a0));
            t = s1.reinterpretAsInts();
            a1 = ((FloatVector) t.add(t.lanewise(LSHL, 16)).lanewise(ASHR, 16).convert(I2F, 0)).mul(dw[d1 + g])
                    .fma(x, b.fma(FloatVector.broadcast(F, cw[d1 + g]), a1));
            t = s2.reinterpretAsInts();
            a2 = ((FloatVector) t.add(t.lanewise(LSHL, 16)).lanewise(ASHR, 16).convert(I2F, 0)).mul(dw[d2 + g])
                    .fma(x, b.fma(FloatVector.broadcast(F, cw[d2 + g]), a2));
            t = s3.reinterpretAsInts();
            a3 = ((FloatVector) t.add(t.lanewise(LSHL, 16)).lanewise(ASHR, 16).convert(I2F, 0)).mul(dw[d3 + g])
                    .fma(x, b.fma(FloatVector.broadcast(F, cw[d3 + g]), a3));
        }
        a0.intoArray(tile, 0); a1.intoArray(tile, MAX_BATCH); a2.intoArray(tile, 2 * MAX_BATCH);
        a3.intoArray(tile, 3 * MAX_BATCH);
    }

    // Q5_K's: each int lane's halves (16 - q products, at most 32,512 each) sign-extended and added as ints.

    private static void kernel4Halves(int[] w, int wOff, float[] dw, float[] cw, int dOff, int cols, short[] xs,
            float[] xd, float[] xb, float[] tile) {
        final int groups = cols / 32;
        final int half = cols / 2;
        final int w0 = wOff, w1 = w0 + half, w2 = w1 + half, w3 = w2 + half;
        final int d1 = dOff + groups, d2 = d1 + groups, d3 = d2 + groups;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < groups; g++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int c = 16 * g; c < 16 * g + 16; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, c * SL);
                s0 = IntVector.broadcast(I, w[w0 + c]).reinterpretAsShorts().mul(v).add(s0);
                s1 = IntVector.broadcast(I, w[w1 + c]).reinterpretAsShorts().mul(v).add(s1);
                s2 = IntVector.broadcast(I, w[w2 + c]).reinterpretAsShorts().mul(v).add(s2);
                s3 = IntVector.broadcast(I, w[w3 + c]).reinterpretAsShorts().mul(v).add(s3);
            }
            FloatVector x = FloatVector.fromArray(F, xd, g * MAX_BATCH);
            FloatVector b = FloatVector.fromArray(F, xb, g * MAX_BATCH);
            IntVector t;
            t = s0.reinterpretAsInts();
            a0 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0)).mul(dw[dOff + g])
                    .fma(x, b.fma(FloatVector.broadcast(F, cw[dOff + g]), a0));
            t = s1.reinterpretAsInts();
            a1 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0)).mul(dw[d1 + g])
                    .fma(x, b.fma(FloatVector.broadcast(F, cw[d1 + g]), a1));
            t = s2.reinterpretAsInts();
            a2 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0)).mul(dw[d2 + g])
                    .fma(x, b.fma(FloatVector.broadcast(F, cw[d2 + g]), a2));
            t = s3.reinterpretAsInts();
            a3 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0)).mul(dw[d3 + g])
                    .fma(x, b.fma(FloatVector.broadcast(F, cw[d3 + g]), a3));
        }
        a0.intoArray(tile, 0); a1.intoArray(tile, MAX_BATCH); a2.intoArray(tile, 2 * MAX_BATCH);
        a3.intoArray(tile, 3 * MAX_BATCH);
    }
}
