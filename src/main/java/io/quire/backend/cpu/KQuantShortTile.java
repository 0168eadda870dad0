package io.quire.backend.cpu;

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
 * Batches of Q4_K and Q5_K rows in 16-bit integer lanes, {@link Q4_0ShortTile}'s way, against the batch's Q8_K
 * integers (the rounding {@link Q8K} gives, |q8| at most 127). A Q4_K value is {@code d sc_g q - dmin m_g}
 * per 32-value group g, q in 0..15; the tile holds {@code 8 - q} (-7..8), so that a group's 32 products
 * sum exactly in a short (at most 8 x 127 x 32 = 32,512; q itself would reach 15 x 127 x 32). With
 * {@code s_g} that sum and {@code b_g} the group's sum of q8, a row's group gives
 * {@code d_x (-d sc_g s_g + (8 d sc_g - dmin m_g) b_g)}: the kernel takes {@code -d sc_g} as Q4_0's
 * block scale and adds the second part with the group's {@code b_g d_x}, per vector, and the row's
 * {@code 8 d sc_g - dmin m_g}. One panel at a time: with a second panel's sums the kernel would need
 * more than the 32 vector registers. Q5_K the same with its fifth bit, {@code 16 - q} (-15..16) and
 * {@code 16 d sc_g - dmin m_g}: 32 such products could reach 65,024, so each half of a group sums in a
 * short of its own (at most 32,512) and the two halves meet as floats (exact integers there).
 */
final class KQuantShortTile {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Short> S = Simd.SW;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> BW = Simd.BW;
    private static final int SL = Q4_0ShortTile.SL;
    private static final int ROWS = Q4_0ShortTile.ROWS;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    private KQuantShortTile() {}

    static {
        short[] w = new short[ROWS * 32], xs = new short[32 * SL];
        float[] dw = new float[ROWS], xd = new float[SL], tile = new float[Q4_0ShortTile.TILE_SUMS];
        for (int i = 0; i < 1000; i++) {
            kernel4(w, 0, dw, dw, 0, 32, xs, xd, xd, 0, tile);
            kernel4Halves(w, 0, dw, dw, 0, 32, xs, xd, xd, 0, tile);
        }
    }

    /** Floats of the panels' scales (and as many of their group sums) for a batch of {@code batch}. */
    static int scalesLength(int batch, int cols) {
        return Q4_0ShortTile.panels(batch) * SL * (cols / 32);
    }

    /**
     * x ({@code batch} vectors of cols, a multiple of 256) as Q8_K integers into panels as
     * {@link Q4_0ShortTile#pack} lays them out; per group, {@code d} holds the vector's block scale and
     * {@code sums} the group's sum of integers times it. Padding vectors get zeros.
     */
    static void pack(float[] x, int batch, int cols, short[] qs, float[] d, float[] sums) {
        // On the loop's threads, panel by panel (a panel's values, scales and sums lie apart from the next
        // one's): a long prompt's packing otherwise runs on one core while the other waits (bench prefill
        // --prompt 500 --threads 2: 7% of the pass).
        Parallel.forRange(Q4_0ShortTile.panels(batch), (long) batch * cols * PACK_OPERATIONS,
                (p0, p1) -> pack(x, batch, cols, qs, d, sums, p0, p1));
    }

    /** Operations per value packed, as {@link Parallel#forRange(int, long, Parallel.IntRangeBody)} counts work. */
    private static final int PACK_OPERATIONS = 2;

    /** {@link #pack} of panels {@code p0 .. p1-1}. */
    private static void pack(float[] x, int batch, int cols, short[] qs, float[] d, float[] sums, int p0, int p1) {
        int groups = cols / 32;
        for (int t = p0 * SL; t < p1 * SL; t++) {
            int p = t / SL, j = t % SL;
            Q8K y = t < batch ? Q8K.local(x, t * cols, cols) : null;
            for (int g = 0; g < groups; g++) {
                int at = (p * cols + 32 * g) * SL + j, e = (p * groups + g) * SL + j;
                float dx = y == null ? 0f : y.d[g / 8];
                d[e] = dx;
                sums[e] = y == null ? 0f : y.sums32[g] * dx;
                for (int c = 0; c < 32; c++) qs[at + c * SL] = y == null ? 0 : y.qs[32 * g + c];
            }
        }
    }

    /**
     * {@link Q4_0ShortTile#multiply} for Q4_K rows ({@code fifthBit}: Q5_K): unpacked into w (8 - q; Q5_K
     * 16 - q), dw ({@code -d sc_g}) and cw ({@code 8 d sc_g - dmin m_g}; 16), then multiplied into every
     * panel; the sums gather in res.
     */
    static void multiply(boolean fifthBit, long first, int nr, int tileRows, int cols, ShortTiles.Panels x, int batch,
            int chunk, float[] out, int rows, int r0, short[] w, float[] dw, float[] cw, float[] tile, float[] res) {
        unpack(fifthBit, first, nr, tileRows, cols, w, dw, cw);
        int np = Q4_0ShortTile.panels(batch);
        int groups = cols / 32;
        for (int p0 = 0; p0 < np; p0 += chunk) {
            int p1 = Math.min(np, p0 + chunk);
            for (int i = 0; i < nr; i += ROWS) {
                for (int p = p0; p < p1; p++) {
                    if (fifthBit) kernel4Halves(w, i * cols, dw, cw, i * groups, cols, x.qs(), x.d(), x.sums(), p, tile);
                    else kernel4(w, i * cols, dw, cw, i * groups, cols, x.qs(), x.d(), x.sums(), p, tile);
                    Q4_0ShortTile.scatter(tile, 1, p, Math.min(ROWS, nr - i), batch, res, tileRows, i);
                }
            }
        }
        for (int b = 0; b < batch; b++) System.arraycopy(res, b * tileRows, out, b * rows + r0, nr);
    }

    /**
     * Q4_K rows into {@code 8 - q} as shorts (Q5_K, {@code fifthBit}: {@code 16 - q}) and their groups' two
     * factors; rows nr..tileRows-1 zero.
     */
    static void unpack(boolean fifthBit, long first, int nr, int tileRows, int cols, short[] w, float[] dw, float[] cw) {
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
                groupFactors(off, offset, dw, cw, i * groups + 8 * blk);
                // 32 bytes per pair of groups: low nibbles the first group, high ones the second; widened
                // 2L at a time into the kernels' own short width (with 16-byte halves this took a quarter
                // of a batch of 32's time).
                for (int h = 0; h < 4; h++) {
                    int at = i * cols + 256 * blk + 64 * h;
                    for (int k = 0; k < 32; k += SL) {
                        ShortVector q = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + ql + 32 * h + k, LE)
                                .convertShape(ZERO_EXTEND_B2S, S, 0);
                        ShortVector lo = q.and((short) 15), hi = q.lanewise(LSHR, 4);
                        if (fifthBit) {
                            // Bit 2h of qh[l] is value l's fifth bit in the first group of the pair, bit 2h+1 in the second.
                            // (Read per pair on purpose: read once per k for all four pairs, a vector held as null
                            // for Q4_K, it crashed C2 of JDK 25.0.3 in Node::rematerialize.)
                            ShortVector qh = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + 16 + k, LE)
                                    .convertShape(ZERO_EXTEND_B2S, S, 0);
                            lo = lo.or(qh.lanewise(LSHR, 2 * h).and((short) 1).lanewise(LSHL, 4));
                            hi = hi.or(qh.lanewise(LSHR, 2 * h + 1).and((short) 1).lanewise(LSHL, 4));
                        }
                        top.sub(lo).intoArray(w, at + k);
                        top.sub(hi).intoArray(w, at + 32 + k);
                    }
                }
            }
        }
        java.util.Arrays.fill(w, nr * cols, tileRows * cols, (short) 0);
        java.util.Arrays.fill(dw, nr * groups, tileRows * groups, 0f);
        java.util.Arrays.fill(cw, nr * groups, tileRows * groups, 0f);
    }

    /**
     * The 8 groups' factors of the Q4_K/Q5_K block at absolute address off into {@code dw[at..at+8)}
     * ({@code -d sc_g}) and cw ({@code offset d sc_g - dmin m_g}): {@link KQuants#groupScales} there, then
     * the same float operations as one group at a time in their lanes (so the same bits).
     */
    static void groupFactors(long off, int offset, float[] dw, float[] cw, int at) {
        KQuants.groupScales(off, dw, at, cw, at);
        FloatVector dl = FloatVector.fromArray(F8, dw, at);
        dl.neg().intoArray(dw, at);
        dl.mul(offset).sub(FloatVector.fromArray(F8, cw, at)).intoArray(cw, at);
    }

    // Per group, each (row, panel) sum in one short vector over its 32 columns, then to floats (two
    // vectors of L) times -d sc_g, an FMA with d_x, and an FMA of the group's b_g d_x with the row's
    // 8 d sc_g - dmin m_g. Written out: a helper taking or returning a vector is boxed unless C2 inlines it.

    private static void kernel4(short[] w, int wOff, float[] dw, float[] cw, int dOff, int cols, short[] xs,
            float[] xd, float[] xb, int p, float[] tile) {
        final int L = F.length();
        final int groups = cols / 32;
        final int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
        final int d1 = dOff + groups, d2 = d1 + groups, d3 = d2 + groups;
        final int q0 = p * cols * SL;
        final int e0 = p * groups * SL;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int g = 0; g < groups; g++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int c = 32 * g; c < 32 * g + 32; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, q0 + c * SL);
                s0 = ShortVector.broadcast(S, w[w0 + c]).mul(v).add(s0);
                s1 = ShortVector.broadcast(S, w[w1 + c]).mul(v).add(s1);
                s2 = ShortVector.broadcast(S, w[w2 + c]).mul(v).add(s2);
                s3 = ShortVector.broadcast(S, w[w3 + c]).mul(v).add(s3);
            }
            int e = e0 + g * SL;
            FloatVector x0 = FloatVector.fromArray(F, xd, e), x1 = FloatVector.fromArray(F, xd, e + L);
            FloatVector b0 = FloatVector.fromArray(F, xb, e), b1 = FloatVector.fromArray(F, xb, e + L);
            float g0 = dw[dOff + g];
            FloatVector c0 = FloatVector.broadcast(F, cw[dOff + g]);
            a00 = ((FloatVector) s0.convertShape(S2F, F, 0)).mul(g0).fma(x0, b0.fma(c0, a00));
            a01 = ((FloatVector) s0.convertShape(S2F, F, 1)).mul(g0).fma(x1, b1.fma(c0, a01));
            float g1 = dw[d1 + g];
            FloatVector c1 = FloatVector.broadcast(F, cw[d1 + g]);
            a10 = ((FloatVector) s1.convertShape(S2F, F, 0)).mul(g1).fma(x0, b0.fma(c1, a10));
            a11 = ((FloatVector) s1.convertShape(S2F, F, 1)).mul(g1).fma(x1, b1.fma(c1, a11));
            float g2 = dw[d2 + g];
            FloatVector c2 = FloatVector.broadcast(F, cw[d2 + g]);
            a20 = ((FloatVector) s2.convertShape(S2F, F, 0)).mul(g2).fma(x0, b0.fma(c2, a20));
            a21 = ((FloatVector) s2.convertShape(S2F, F, 1)).mul(g2).fma(x1, b1.fma(c2, a21));
            float g3 = dw[d3 + g];
            FloatVector c3 = FloatVector.broadcast(F, cw[d3 + g]);
            a30 = ((FloatVector) s3.convertShape(S2F, F, 0)).mul(g3).fma(x0, b0.fma(c3, a30));
            a31 = ((FloatVector) s3.convertShape(S2F, F, 1)).mul(g3).fma(x1, b1.fma(c3, a31));
        }
        // Row i at i*SL.
        a00.intoArray(tile, 0); a01.intoArray(tile, L); a10.intoArray(tile, SL); a11.intoArray(tile, SL + L);
        a20.intoArray(tile, 2 * SL); a21.intoArray(tile, 2 * SL + L); a30.intoArray(tile, 3 * SL); a31.intoArray(tile, 3 * SL + L);
    }

    // Q5_K's: each half of a group sums in its own short, and the halves are added as floats (exact).

    private static void kernel4Halves(short[] w, int wOff, float[] dw, float[] cw, int dOff, int cols, short[] xs,
            float[] xd, float[] xb, int p, float[] tile) {
        final int L = F.length();
        final int groups = cols / 32;
        final int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
        final int d1 = dOff + groups, d2 = d1 + groups, d3 = d2 + groups;
        final int q0 = p * cols * SL;
        final int e0 = p * groups * SL;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int g = 0; g < groups; g++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z, t0 = z, t1 = z, t2 = z, t3 = z;
            for (int c = 32 * g; c < 32 * g + 16; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, q0 + c * SL);
                s0 = ShortVector.broadcast(S, w[w0 + c]).mul(v).add(s0);
                s1 = ShortVector.broadcast(S, w[w1 + c]).mul(v).add(s1);
                s2 = ShortVector.broadcast(S, w[w2 + c]).mul(v).add(s2);
                s3 = ShortVector.broadcast(S, w[w3 + c]).mul(v).add(s3);
            }
            for (int c = 32 * g + 16; c < 32 * g + 32; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, q0 + c * SL);
                t0 = ShortVector.broadcast(S, w[w0 + c]).mul(v).add(t0);
                t1 = ShortVector.broadcast(S, w[w1 + c]).mul(v).add(t1);
                t2 = ShortVector.broadcast(S, w[w2 + c]).mul(v).add(t2);
                t3 = ShortVector.broadcast(S, w[w3 + c]).mul(v).add(t3);
            }
            int e = e0 + g * SL;
            FloatVector x0 = FloatVector.fromArray(F, xd, e), x1 = FloatVector.fromArray(F, xd, e + L);
            FloatVector b0 = FloatVector.fromArray(F, xb, e), b1 = FloatVector.fromArray(F, xb, e + L);
            float g0 = dw[dOff + g];
            FloatVector c0 = FloatVector.broadcast(F, cw[dOff + g]);
            a00 = ((FloatVector) s0.convertShape(S2F, F, 0)).add((FloatVector) t0.convertShape(S2F, F, 0)).mul(g0).fma(x0, b0.fma(c0, a00));
            a01 = ((FloatVector) s0.convertShape(S2F, F, 1)).add((FloatVector) t0.convertShape(S2F, F, 1)).mul(g0).fma(x1, b1.fma(c0, a01));
            float g1 = dw[d1 + g];
            FloatVector c1 = FloatVector.broadcast(F, cw[d1 + g]);
            a10 = ((FloatVector) s1.convertShape(S2F, F, 0)).add((FloatVector) t1.convertShape(S2F, F, 0)).mul(g1).fma(x0, b0.fma(c1, a10));
            a11 = ((FloatVector) s1.convertShape(S2F, F, 1)).add((FloatVector) t1.convertShape(S2F, F, 1)).mul(g1).fma(x1, b1.fma(c1, a11));
            float g2 = dw[d2 + g];
            FloatVector c2 = FloatVector.broadcast(F, cw[d2 + g]);
            a20 = ((FloatVector) s2.convertShape(S2F, F, 0)).add((FloatVector) t2.convertShape(S2F, F, 0)).mul(g2).fma(x0, b0.fma(c2, a20));
            a21 = ((FloatVector) s2.convertShape(S2F, F, 1)).add((FloatVector) t2.convertShape(S2F, F, 1)).mul(g2).fma(x1, b1.fma(c2, a21));
            float g3 = dw[d3 + g];
            FloatVector c3 = FloatVector.broadcast(F, cw[d3 + g]);
            a30 = ((FloatVector) s3.convertShape(S2F, F, 0)).add((FloatVector) t3.convertShape(S2F, F, 0)).mul(g3).fma(x0, b0.fma(c3, a30));
            a31 = ((FloatVector) s3.convertShape(S2F, F, 1)).add((FloatVector) t3.convertShape(S2F, F, 1)).mul(g3).fma(x1, b1.fma(c3, a31));
        }
        // Row i at i*SL.
        a00.intoArray(tile, 0); a01.intoArray(tile, L); a10.intoArray(tile, SL); a11.intoArray(tile, SL + L);
        a20.intoArray(tile, 2 * SL); a21.intoArray(tile, 2 * SL + L); a30.intoArray(tile, 3 * SL); a31.intoArray(tile, 3 * SL + L);
    }
}
