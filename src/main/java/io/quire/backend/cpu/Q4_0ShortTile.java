package io.quire.backend.cpu;

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
 * Batches of Q4_0 rows in 16-bit integer lanes, as ggml sums a Q4_0 row with a Q8_0 activation:
 * per block {@code d_w d_x sum (q - 8) q8}, the integer sum exact. The batch is quantized to Q8_0
 * integers once per call and packed in panels of {@link #SL} vectors (one short lane each, column by
 * column, as {@link BatchTile} packs floats); a tile of rows is unpacked once to its values minus 8 as
 * shorts. A kernel broadcasts one weight, multiplies it into a panel's column and adds, all in 16-bit
 * lanes: a block's 32 products of at most 8 x 127 sum to at most 32,512, so a short holds the block's
 * exact sum, and only then does it go to floats times the two scales. Twice the lanes of a float FMA
 * per operation, and no pair sums: in a scratch loop on Zen 4 (768 columns, one thread) 4 rows x 2
 * panels ran at 81-83 G multiply-adds/s and 4 x 1 at 77, where {@link BatchTile}'s float 6x2 kernel
 * runs at 58. Only Q4_0 fits: Q8_0's products (127 x 127) overflow a short within two columns.
 */
final class Q4_0ShortTile {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Short> S = Simd.SW;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;

    /** Vectors per panel: one per short lane (32 on 16-float-lane machines). */
    static final int SL = S.length();
    /** Rows per kernel call: the tile's rows are a multiple of it. */
    static final int ROWS = 4;
    /** Floats of the array that the kernels' sums go through: ROWS rows x 2 panels. */
    static final int TILE_SUMS = ROWS * 2 * SL;

    private Q4_0ShortTile() {}

    static {
        prime();
    }

    /**
     * Runs both kernels, interleaved, on one block before either is hot: the Vector API's shared code
     * keeps one type profile for every width of short and float vectors in use (see {@link BatchTile}'s
     * prime for what a kernel compiled on another width's profile cost).
     */
    private static void prime() {
        short[] w = new short[ROWS * 32], xs = new short[2 * 32 * SL];
        float[] dw = new float[ROWS], xd = new float[2 * SL], tile = new float[TILE_SUMS];
        for (int i = 0; i < 1000; i++) {
            kernel4x2(w, 0, dw, 0, 32, xs, xd, 0, tile);
            kernel4x1(w, 0, dw, 0, 32, xs, xd, 0, tile);
        }
    }

    static int panels(int batch) {
        return (batch + SL - 1) / SL;
    }

    /** Shorts of the panels of a batch of {@code batch} vectors of {@code cols}. */
    static int packedLength(int batch, int cols) {
        return panels(batch) * SL * cols;
    }

    /**
     * x ({@code batch} vectors of cols) quantized to Q8_0 as {@link Q8_0Activation} rounds it (scale
     * {@code fp16(amax / 127)}, integers {@code rint(x * 127 / amax)}, a NaN scale for a block holding a
     * NaN) into panels; padding vectors get zeros.
     */
    static void pack(float[] x, int batch, int cols, short[] qs, float[] d) {
        // On the loop's threads, panel by panel, as KQuantShortTile.pack.
        Parallel.forRange(panels(batch), (long) batch * cols * PACK_OPERATIONS,
                (p0, p1) -> pack(x, batch, cols, qs, d, p0, p1));
    }

    /** Operations per value packed, as {@link Parallel#forRange(int, long, Parallel.IntRangeBody)} counts work. */
    private static final int PACK_OPERATIONS = 2;

    /** {@link #pack} of panels {@code p0 .. p1-1}. */
    private static void pack(float[] x, int batch, int cols, short[] qs, float[] d, int p0, int p1) {
        int blocks = cols / 32;
        int[] q = Q8_0Activation.blockInts();
        for (int t = p0 * SL; t < p1 * SL; t++) {
            int p = t / SL, j = t % SL;
            for (int k = 0; k < blocks; k++) {
                int at = (p * cols + 32 * k) * SL + j;
                if (t < batch) {
                    d[(p * blocks + k) * SL + j] = Q8_0Activation.quantizeBlock(x, t * cols + 32 * k, q);
                    for (int c = 0; c < 32; c++) qs[at + c * SL] = (short) q[c];
                } else {
                    d[(p * blocks + k) * SL + j] = 0f;
                    for (int c = 0; c < 32; c++) qs[at + c * SL] = 0;
                }
            }
        }
    }

    /**
     * Rows {@code r0 .. r0+nr-1} of out for the whole batch: the {@code nr} Q4_0 rows at absolute
     * address {@code first} unpacked into w and dw ({@code tileRows} rows, the ones past nr zero), then
     * multiplied into the panels {@code chunk} panels at a time, so that a chunk stays in L2 across the tile.
     * The sums gather in {@code res} (at least {@code batch * tileRows} floats) and go to out a vector's
     * rows at a time, as MatMul's float tiles do (its {@code TILE_RESULTS} says why).
     */
    static void multiply(long first, int nr, int tileRows, int cols, ShortTiles.Panels x, int batch, int chunk,
            float[] out, int rows, int r0, short[] w, float[] dw, float[] tile, float[] res) {
        unpack(first, nr, tileRows, cols, w, dw);
        int np = panels(batch);
        int blocks = cols / 32;
        for (int p0 = 0; p0 < np; p0 += chunk) {
            int p1 = Math.min(np, p0 + chunk);
            for (int i = 0; i < nr; i += ROWS) {
                int p = p0;
                for (; p + 2 <= p1; p += 2) {
                    kernel4x2(w, i * cols, dw, i * blocks, cols, x.qs(), x.d(), p, tile);
                    scatter(tile, 2, p, Math.min(ROWS, nr - i), batch, res, tileRows, i);
                }
                if (p < p1) {
                    kernel4x1(w, i * cols, dw, i * blocks, cols, x.qs(), x.d(), p, tile);
                    scatter(tile, 1, p, Math.min(ROWS, nr - i), batch, res, tileRows, i);
                }
            }
        }
        for (int b = 0; b < batch; b++) System.arraycopy(res, b * tileRows, out, b * rows + r0, nr);
    }

    /** Q4_0 rows into their values minus 8 as shorts and their scales as floats; rows nr..tileRows-1 zero. */
    static void unpack(long first, int nr, int tileRows, int cols, short[] w, float[] dw) {
        final MemorySegment seg = Simd.ALL;
        int blocks = cols / 32;
        long rowBytes = 18L * blocks;
        for (int i = 0; i < nr; i++) {
            long off = first + i * rowBytes;
            for (int k = 0; k < blocks; k++, off += 18) {
                dw[i * blocks + k] = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
                ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 2, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                int at = i * cols + 32 * k;
                q.and((short) 15).sub((short) 8).intoArray(w, at);
                q.lanewise(LSHR, 4).sub((short) 8).intoArray(w, at + 16);
            }
        }
        java.util.Arrays.fill(w, nr * cols, tileRows * cols, (short) 0);
        java.util.Arrays.fill(dw, nr * blocks, tileRows * blocks, 0f);
    }

    /** The kernel's sums (row i, panel k at {@code (i*np + k)*SL}) into out, skipping padding. */
    static void scatter(float[] tile, int np, int p0, int nr, int batch, float[] out, int rows, int r0) {
        for (int k = 0; k < np; k++) {
            int b0 = (p0 + k) * SL;
            int n = Math.min(SL, batch - b0);
            for (int i = 0; i < nr; i++) {
                int t = (i * np + k) * SL;
                for (int j = 0; j < n; j++) out[(b0 + j) * rows + r0 + i] = tile[t + j];
            }
        }
    }

    // The kernels: per block, each (row, panel) sum in one short vector over the block's 32 columns, then
    // to floats (two vectors of L), times the row's scale, into a float sum with the vectors' scales
    // (an FMA). Written out: a helper taking or returning a vector is boxed unless C2 inlines it.

    private static void kernel4x2(short[] w, int wOff, float[] dw, int dOff, int cols, short[] xs, float[] xd,
            int p, float[] tile) {
        final int L = F.length();
        final int blocks = cols / 32;
        final int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
        final int d1 = dOff + blocks, d2 = d1 + blocks, d3 = d2 + blocks;
        final int q0 = p * cols * SL, q1 = q0 + cols * SL;
        final int e0 = p * blocks * SL, e1 = e0 + blocks * SL;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00;
        FloatVector a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int k = 0; k < blocks; k++) {
            ShortVector s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z, s30 = z, s31 = z;
            for (int c = 32 * k; c < 32 * k + 32; c++) {
                ShortVector v0 = ShortVector.fromArray(S, xs, q0 + c * SL);
                ShortVector v1 = ShortVector.fromArray(S, xs, q1 + c * SL);
                ShortVector m = ShortVector.broadcast(S, w[w0 + c]);
                s00 = m.mul(v0).add(s00); s01 = m.mul(v1).add(s01);
                m = ShortVector.broadcast(S, w[w1 + c]);
                s10 = m.mul(v0).add(s10); s11 = m.mul(v1).add(s11);
                m = ShortVector.broadcast(S, w[w2 + c]);
                s20 = m.mul(v0).add(s20); s21 = m.mul(v1).add(s21);
                m = ShortVector.broadcast(S, w[w3 + c]);
                s30 = m.mul(v0).add(s30); s31 = m.mul(v1).add(s31);
            }
            FloatVector x0 = FloatVector.fromArray(F, xd, e0 + k * SL), x1 = FloatVector.fromArray(F, xd, e0 + k * SL + L);
            FloatVector x2 = FloatVector.fromArray(F, xd, e1 + k * SL), x3 = FloatVector.fromArray(F, xd, e1 + k * SL + L);
            FloatVector g = FloatVector.broadcast(F, dw[dOff + k]);
            a00 = ((FloatVector) s00.convertShape(S2F, F, 0)).mul(g).fma(x0, a00);
            a01 = ((FloatVector) s00.convertShape(S2F, F, 1)).mul(g).fma(x1, a01);
            a02 = ((FloatVector) s01.convertShape(S2F, F, 0)).mul(g).fma(x2, a02);
            a03 = ((FloatVector) s01.convertShape(S2F, F, 1)).mul(g).fma(x3, a03);
            g = FloatVector.broadcast(F, dw[d1 + k]);
            a10 = ((FloatVector) s10.convertShape(S2F, F, 0)).mul(g).fma(x0, a10);
            a11 = ((FloatVector) s10.convertShape(S2F, F, 1)).mul(g).fma(x1, a11);
            a12 = ((FloatVector) s11.convertShape(S2F, F, 0)).mul(g).fma(x2, a12);
            a13 = ((FloatVector) s11.convertShape(S2F, F, 1)).mul(g).fma(x3, a13);
            g = FloatVector.broadcast(F, dw[d2 + k]);
            a20 = ((FloatVector) s20.convertShape(S2F, F, 0)).mul(g).fma(x0, a20);
            a21 = ((FloatVector) s20.convertShape(S2F, F, 1)).mul(g).fma(x1, a21);
            a22 = ((FloatVector) s21.convertShape(S2F, F, 0)).mul(g).fma(x2, a22);
            a23 = ((FloatVector) s21.convertShape(S2F, F, 1)).mul(g).fma(x3, a23);
            g = FloatVector.broadcast(F, dw[d3 + k]);
            a30 = ((FloatVector) s30.convertShape(S2F, F, 0)).mul(g).fma(x0, a30);
            a31 = ((FloatVector) s30.convertShape(S2F, F, 1)).mul(g).fma(x1, a31);
            a32 = ((FloatVector) s31.convertShape(S2F, F, 0)).mul(g).fma(x2, a32);
            a33 = ((FloatVector) s31.convertShape(S2F, F, 1)).mul(g).fma(x3, a33);
        }
        // Row i, panel k at (i*2 + k)*SL.
        a00.intoArray(tile, 0); a01.intoArray(tile, L); a02.intoArray(tile, SL); a03.intoArray(tile, SL + L);
        a10.intoArray(tile, 2 * SL); a11.intoArray(tile, 2 * SL + L); a12.intoArray(tile, 3 * SL); a13.intoArray(tile, 3 * SL + L);
        a20.intoArray(tile, 4 * SL); a21.intoArray(tile, 4 * SL + L); a22.intoArray(tile, 5 * SL); a23.intoArray(tile, 5 * SL + L);
        a30.intoArray(tile, 6 * SL); a31.intoArray(tile, 6 * SL + L); a32.intoArray(tile, 7 * SL); a33.intoArray(tile, 7 * SL + L);
    }

    private static void kernel4x1(short[] w, int wOff, float[] dw, int dOff, int cols, short[] xs, float[] xd,
            int p, float[] tile) {
        final int L = F.length();
        final int blocks = cols / 32;
        final int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
        final int d1 = dOff + blocks, d2 = d1 + blocks, d3 = d2 + blocks;
        final int q0 = p * cols * SL;
        final int e0 = p * blocks * SL;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int k = 0; k < blocks; k++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int c = 32 * k; c < 32 * k + 32; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, q0 + c * SL);
                s0 = ShortVector.broadcast(S, w[w0 + c]).mul(v).add(s0);
                s1 = ShortVector.broadcast(S, w[w1 + c]).mul(v).add(s1);
                s2 = ShortVector.broadcast(S, w[w2 + c]).mul(v).add(s2);
                s3 = ShortVector.broadcast(S, w[w3 + c]).mul(v).add(s3);
            }
            FloatVector x0 = FloatVector.fromArray(F, xd, e0 + k * SL), x1 = FloatVector.fromArray(F, xd, e0 + k * SL + L);
            FloatVector g = FloatVector.broadcast(F, dw[dOff + k]);
            a00 = ((FloatVector) s0.convertShape(S2F, F, 0)).mul(g).fma(x0, a00);
            a01 = ((FloatVector) s0.convertShape(S2F, F, 1)).mul(g).fma(x1, a01);
            g = FloatVector.broadcast(F, dw[d1 + k]);
            a10 = ((FloatVector) s1.convertShape(S2F, F, 0)).mul(g).fma(x0, a10);
            a11 = ((FloatVector) s1.convertShape(S2F, F, 1)).mul(g).fma(x1, a11);
            g = FloatVector.broadcast(F, dw[d2 + k]);
            a20 = ((FloatVector) s2.convertShape(S2F, F, 0)).mul(g).fma(x0, a20);
            a21 = ((FloatVector) s2.convertShape(S2F, F, 1)).mul(g).fma(x1, a21);
            g = FloatVector.broadcast(F, dw[d3 + k]);
            a30 = ((FloatVector) s3.convertShape(S2F, F, 0)).mul(g).fma(x0, a30);
            a31 = ((FloatVector) s3.convertShape(S2F, F, 1)).mul(g).fma(x1, a31);
        }
        // Row i at i*SL (one panel).
        a00.intoArray(tile, 0); a01.intoArray(tile, L); a10.intoArray(tile, SL); a11.intoArray(tile, SL + L);
        a20.intoArray(tile, 2 * SL); a21.intoArray(tile, 2 * SL + L); a30.intoArray(tile, 3 * SL); a31.intoArray(tile, 3 * SL + L);
    }
}
