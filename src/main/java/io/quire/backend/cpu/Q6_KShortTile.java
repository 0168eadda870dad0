package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2F;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batches of Q6_K rows in 16-bit integer lanes, {@link KQuantShortTile}'s way, against the batch's Q8_K
 * integers in the same panels. A Q6_K value is {@code d sc_g (q - 32)} per 16-value group g ({@code sc_g}
 * a signed byte, q in 0..63); the tile holds {@code q - 32} (-32..31), whose products with |q8| at most
 * 127 sum exactly in a short eight at a time (32,512; sixteen could reach 65,024), so each half of a
 * group sums in a short of its own, the halves meet as floats (exact integers there), and the group's sum
 * goes in times {@code d sc_g} and the vector's {@code d_x}. The float tiles this replaces above 20
 * vectors (dequantized rows times the Q8_K-rounded floats) took 1.06x its time at 21 vectors and 1.14-1.2x
 * at 32-128 (bench kernels --rows 3072 --cols 768 --types Q6_K --threads 1).
 */
final class Q6_KShortTile {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Short> S = Simd.SW;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BW = Simd.BW;
    private static final VectorSpecies<Byte> B = Simd.B;
    private static final int SL = Q4_0ShortTile.SL;
    private static final int ROWS = Q4_0ShortTile.ROWS;
    private static final int BLOCK_BYTES = 210;

    private Q6_KShortTile() {}

    static {
        short[] w = new short[ROWS * 16], xs = new short[16 * SL];
        float[] dw = new float[ROWS], xd = new float[SL], tile = new float[Q4_0ShortTile.TILE_SUMS];
        for (int i = 0; i < 1000; i++) kernel4(w, 0, dw, 0, 16, xs, xd, 0, tile);
    }

    /** Floats of a tile's group scales: one per 16 values. */
    static int scalesLength(int tileRows, int cols) {
        return tileRows * cols / 16;
    }

    /**
     * {@link KQuantShortTile#multiply} for Q6_K rows: unpacked into w ({@code q - 32}) and dw ({@code d sc_g}),
     * then multiplied into every panel of x ({@link KQuantShortTile#pack}'s); the sums gather in res.
     */
    static void multiply(long first, int nr, int tileRows, int cols, ShortTiles.Panels x, int batch, int chunk,
            float[] out, int rows, int r0, short[] w, float[] dw, float[] tile, float[] res) {
        unpack(first, nr, tileRows, cols, w, dw);
        int np = Q4_0ShortTile.panels(batch);
        int groups = cols / 16;
        for (int p0 = 0; p0 < np; p0 += chunk) {
            int p1 = Math.min(np, p0 + chunk);
            for (int i = 0; i < nr; i += ROWS) {
                for (int p = p0; p < p1; p++) {
                    kernel4(w, i * cols, dw, i * groups, cols, x.qs(), x.d(), p, tile);
                    Q4_0ShortTile.scatter(tile, 1, p, Math.min(ROWS, nr - i), batch, res, tileRows, i);
                }
            }
        }
        for (int b = 0; b < batch; b++) System.arraycopy(res, b * tileRows, out, b * rows + r0, nr);
    }

    /** Q6_K rows into {@code q - 32} as shorts and their groups' {@code d sc_g}, as dequantize_row_q6_K lays them out; rows nr..tileRows-1 zero. */
    static void unpack(long first, int nr, int tileRows, int cols, short[] w, float[] dw) {
        final MemorySegment seg = Simd.ALL;
        final ShortVector bias = ShortVector.broadcast(S, (short) 32);
        int groups = cols / 16;
        long rowBytes = (long) BLOCK_BYTES * (cols / 256);
        for (int i = 0; i < nr; i++) {
            long off = first + i * rowBytes;
            for (int blk = 0; blk < cols / 256; blk++, off += BLOCK_BYTES) {
                groupScales(off, dw, i * groups + 16 * blk);
                // Each half of the block: 64 bytes of low nibbles and 32 of high bit pairs make 128 values,
                // in four runs of 32 (value 32k + l: nibble of byte l or 32 + l, bits 2k..2k+1 of byte l).
                for (int n = 0; n < 2; n++) {
                    long ql = off + 64 * n, qh = off + 128 + 32 * n;
                    int at = i * cols + 256 * blk + 128 * n;
                    for (int l = 0; l < 32; l += SL) {
                        ShortVector a = (ShortVector) ByteVector.fromMemorySegment(BW, seg, ql + l, LE)
                                .convertShape(ZERO_EXTEND_B2S, S, 0);
                        ShortVector b = (ShortVector) ByteVector.fromMemorySegment(BW, seg, ql + 32 + l, LE)
                                .convertShape(ZERO_EXTEND_B2S, S, 0);
                        ShortVector h = (ShortVector) ByteVector.fromMemorySegment(BW, seg, qh + l, LE)
                                .convertShape(ZERO_EXTEND_B2S, S, 0);
                        a.and((short) 15).or(h.and((short) 3).lanewise(LSHL, 4)).sub(bias).intoArray(w, at + l);
                        b.and((short) 15).or(h.and((short) 12).lanewise(LSHL, 2)).sub(bias).intoArray(w, at + 32 + l);
                        a.lanewise(LSHR, 4).or(h.and((short) 48)).sub(bias).intoArray(w, at + 64 + l);
                        b.lanewise(LSHR, 4).or(h.and((short) 192).lanewise(LSHR, 2)).sub(bias).intoArray(w, at + 96 + l);
                    }
                }
            }
        }
        java.util.Arrays.fill(w, nr * cols, tileRows * cols, (short) 0);
        java.util.Arrays.fill(dw, nr * groups, tileRows * groups, 0f);
    }

    /** The 16 groups' {@code d sc_g} of the Q6_K block at absolute address off into {@code dw[at..at+16)}. */
    static void groupScales(long off, float[] dw, int at) {
        final MemorySegment seg = Simd.ALL;
        float d = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 208));
        for (int g = 0; g < 16; g += F.length()) {
            ((FloatVector) ByteVector.fromMemorySegment(B, seg, off + 192 + g, LE).convertShape(B2F, F, 0)).mul(d)
                    .intoArray(dw, at + g);
        }
    }

    // Per 16-value group, each (row, panel) sum in two short vectors of 8 columns each, then to floats
    // (two vectors of L per short vector), the halves added, times d sc_g, and an FMA with d_x. Written
    // out: a helper taking or returning a vector is boxed unless C2 inlines it.

    private static void kernel4(short[] w, int wOff, float[] dw, int dOff, int cols, short[] xs, float[] xd, int p,
            float[] tile) {
        final int L = F.length();
        final int groups = cols / 16;
        final int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
        final int d1 = dOff + groups, d2 = d1 + groups, d3 = d2 + groups;
        final int q0 = p * cols * SL;
        final int e0 = p * (cols / 32) * SL;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int g = 0; g < groups; g++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z, t0 = z, t1 = z, t2 = z, t3 = z;
            for (int c = 16 * g; c < 16 * g + 8; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, q0 + c * SL);
                s0 = ShortVector.broadcast(S, w[w0 + c]).mul(v).add(s0);
                s1 = ShortVector.broadcast(S, w[w1 + c]).mul(v).add(s1);
                s2 = ShortVector.broadcast(S, w[w2 + c]).mul(v).add(s2);
                s3 = ShortVector.broadcast(S, w[w3 + c]).mul(v).add(s3);
            }
            for (int c = 16 * g + 8; c < 16 * g + 16; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, q0 + c * SL);
                t0 = ShortVector.broadcast(S, w[w0 + c]).mul(v).add(t0);
                t1 = ShortVector.broadcast(S, w[w1 + c]).mul(v).add(t1);
                t2 = ShortVector.broadcast(S, w[w2 + c]).mul(v).add(t2);
                t3 = ShortVector.broadcast(S, w[w3 + c]).mul(v).add(t3);
            }
            // The block's d_x, per vector, at the panel's scales of the 32-value group that holds this one.
            int e = e0 + (g / 2) * SL;
            FloatVector x0 = FloatVector.fromArray(F, xd, e), x1 = FloatVector.fromArray(F, xd, e + L);
            float g0 = dw[dOff + g];
            a00 = ((FloatVector) s0.convertShape(S2F, F, 0)).add((FloatVector) t0.convertShape(S2F, F, 0)).mul(g0).fma(x0, a00);
            a01 = ((FloatVector) s0.convertShape(S2F, F, 1)).add((FloatVector) t0.convertShape(S2F, F, 1)).mul(g0).fma(x1, a01);
            float g1 = dw[d1 + g];
            a10 = ((FloatVector) s1.convertShape(S2F, F, 0)).add((FloatVector) t1.convertShape(S2F, F, 0)).mul(g1).fma(x0, a10);
            a11 = ((FloatVector) s1.convertShape(S2F, F, 1)).add((FloatVector) t1.convertShape(S2F, F, 1)).mul(g1).fma(x1, a11);
            float g2 = dw[d2 + g];
            a20 = ((FloatVector) s2.convertShape(S2F, F, 0)).add((FloatVector) t2.convertShape(S2F, F, 0)).mul(g2).fma(x0, a20);
            a21 = ((FloatVector) s2.convertShape(S2F, F, 1)).add((FloatVector) t2.convertShape(S2F, F, 1)).mul(g2).fma(x1, a21);
            float g3 = dw[d3 + g];
            a30 = ((FloatVector) s3.convertShape(S2F, F, 0)).add((FloatVector) t3.convertShape(S2F, F, 0)).mul(g3).fma(x0, a30);
            a31 = ((FloatVector) s3.convertShape(S2F, F, 1)).add((FloatVector) t3.convertShape(S2F, F, 1)).mul(g3).fma(x1, a31);
        }
        // Row i at i*SL.
        a00.intoArray(tile, 0); a01.intoArray(tile, L); a10.intoArray(tile, SL); a11.intoArray(tile, SL + L);
        a20.intoArray(tile, 2 * SL); a21.intoArray(tile, 2 * SL + L); a30.intoArray(tile, 3 * SL); a31.intoArray(tile, 3 * SL + L);
    }
}
