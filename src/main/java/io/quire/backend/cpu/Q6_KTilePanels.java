package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2F;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Large batches of {@link Q6_KTiles}' repacked Q6_K, as {@link Q6_KShortTile} multiplies stored Q6_K: the
 * batch's Q8_K integers in panels of 32 vectors (one short lane each), a tile's {@code q - 32} broadcast
 * into them, each half of a 16-value group summed in a short of its own. The tile unpacks column by
 * column without moving a value across lanes (kept column after column, 32 rows each), and the kernel
 * takes a row's weight 32 shorts on per column, as {@link Q4_KTilePanels} does for Q4_K.
 */
final class Q6_KTilePanels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final int SL = Q4_0ShortTile.SL;
    private static final int R = Q6_KTiles.ROWS;
    /** Panels multiplied per pass over a tile's rows: they stay in L2, as {@link ShortTiles}' chunks. */
    private static final int CHUNK = 2;
    /** The smallest batch that takes these panels rather than {@link Q6_KTiles}' own kernels. */
    static final int MIN_BATCH = Integer.getInteger("quire.q6k-tile-panels", 17);

    private static final ThreadLocal<short[]> TILE = ThreadLocal.withInitial(() -> new short[0]);
    private static final ThreadLocal<float[]> SCALES = ThreadLocal.withInitial(() -> new float[0]);

    private Q6_KTilePanels() {}

    /**
     * Tiles {@code t0 .. t1-1} of the repacked weight at absolute address base times the batch packed by
     * {@link ShortTiles#pack} for Q6_K, into {@code out[b*rows + r]}; tile and res: the caller's scratch
     * for the kernel's sums and the tile's results ({@code batch * 32} floats).
     */
    static void multiply(long base, int rows, int cols, int t0, int t1, ShortTiles.Panels x, int batch, float[] out,
            float[] tile, float[] res) {
        int blocks = cols / 256;
        short[] w = Scratch.shorts(TILE, R * cols);
        float[] dw = Scratch.floats(SCALES, R * cols / 16);
        int np = Q4_0ShortTile.panels(batch);
        for (int t = t0; t < t1; t++) {
            unpack(base + (long) t * blocks * Q6_KTiles.BLOCK_BYTES, blocks, w, dw);
            for (int p0 = 0; p0 < np; p0 += CHUNK) {
                int p1 = Math.min(np, p0 + CHUNK);
                for (int i = 0; i < R; i += 4) {
                    for (int p = p0; p < p1; p++) {
                        kernel4(w, i, dw, cols, x.qs(), x.d(), p, tile);
                        Q4_0ShortTile.scatter(tile, 1, p, 4, batch, res, R, i);
                    }
                }
            }
            for (int b = 0; b < batch; b++) System.arraycopy(res, b * R, out, b * rows + t * R, R);
        }
    }

    /** A tile's {@code q - 32} into w, column c's 32 rows from {@code 32c}; group g's {@code d sc_g} of row r at {@code 32g + r} of dw. */
    private static void unpack(long tile, int blocks, short[] w, float[] dw) {
        final MemorySegment seg = Simd.ALL;
        final ShortVector bias = ShortVector.broadcast(S, (short) 32);
        for (int s = 0; s < blocks; s++) {
            long sb = tile + (long) s * Q6_KTiles.BLOCK_BYTES;
            Q6_KTiles.groupFactors(sb, dw, 32 * 16 * s);
            for (int g = 0; g < 16; g++) {
                long pg = sb + Q6_KTiles.part(g / 2);
                for (int h = 0; h < 2; h++) {
                    long run = pg + Q6_KTiles.RUNS + Q6_KTiles.RUN_BYTES * (2 * (g % 2) + h);
                    int c = 32 * (256 * s + 16 * g + 8 * h);
                    ShortVector w0 = ShortVector.fromMemorySegment(S, seg, run, LE);
                    ShortVector w1 = ShortVector.fromMemorySegment(S, seg, run + 64, LE);
                    ShortVector w2 = ShortVector.fromMemorySegment(S, seg, run + 128, LE);
                    w0.and((short) 63).sub(bias).intoArray(w, c);
                    w0.lanewise(LSHR, 6).and((short) 63).sub(bias).intoArray(w, c + 32);
                    w1.and((short) 63).sub(bias).intoArray(w, c + 64);
                    w1.lanewise(LSHR, 6).and((short) 63).sub(bias).intoArray(w, c + 96);
                    w2.and((short) 63).sub(bias).intoArray(w, c + 128);
                    w2.lanewise(LSHR, 6).and((short) 63).sub(bias).intoArray(w, c + 160);
                    w0.lanewise(LSHR, 12).or(w1.lanewise(LSHR, 8).and((short) 0x30)).sub(bias).intoArray(w, c + 192);
                    w1.lanewise(LSHR, 14).or(w2.lanewise(LSHR, 10).and((short) 0x3C)).sub(bias).intoArray(w, c + 224);
                }
            }
        }
    }

    // Q6_KShortTile's kernel4 over a tile kept column by column: rows i..i+3, their weights 32 shorts apart
    // per column and their factors 32 floats apart per group. Written out: a helper taking or returning a
    // vector is boxed unless C2 inlines it.

    private static void kernel4(short[] w, int i, float[] dw, int cols, short[] xs, float[] xd, int p, float[] tile) {
        final int L = F.length();
        final int groups = cols / 16;
        final int q0 = p * cols * SL;
        final int e0 = p * (cols / 32) * SL;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int g = 0; g < groups; g++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z, t0 = z, t1 = z, t2 = z, t3 = z;
            for (int c = 16 * g; c < 16 * g + 8; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, q0 + c * SL);
                int k = 32 * c + i;
                s0 = ShortVector.broadcast(S, w[k]).mul(v).add(s0);
                s1 = ShortVector.broadcast(S, w[k + 1]).mul(v).add(s1);
                s2 = ShortVector.broadcast(S, w[k + 2]).mul(v).add(s2);
                s3 = ShortVector.broadcast(S, w[k + 3]).mul(v).add(s3);
            }
            for (int c = 16 * g + 8; c < 16 * g + 16; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, q0 + c * SL);
                int k = 32 * c + i;
                t0 = ShortVector.broadcast(S, w[k]).mul(v).add(t0);
                t1 = ShortVector.broadcast(S, w[k + 1]).mul(v).add(t1);
                t2 = ShortVector.broadcast(S, w[k + 2]).mul(v).add(t2);
                t3 = ShortVector.broadcast(S, w[k + 3]).mul(v).add(t3);
            }
            // The block's d_x, per vector, at the panel's scales of the 32-value group that holds this one.
            int e = e0 + (g / 2) * SL;
            FloatVector x0 = FloatVector.fromArray(F, xd, e), x1 = FloatVector.fromArray(F, xd, e + L);
            int f = 32 * g + i;
            float g0 = dw[f];
            a00 = ((FloatVector) s0.convertShape(S2F, F, 0)).add((FloatVector) t0.convertShape(S2F, F, 0)).mul(g0).fma(x0, a00);
            a01 = ((FloatVector) s0.convertShape(S2F, F, 1)).add((FloatVector) t0.convertShape(S2F, F, 1)).mul(g0).fma(x1, a01);
            float g1 = dw[f + 1];
            a10 = ((FloatVector) s1.convertShape(S2F, F, 0)).add((FloatVector) t1.convertShape(S2F, F, 0)).mul(g1).fma(x0, a10);
            a11 = ((FloatVector) s1.convertShape(S2F, F, 1)).add((FloatVector) t1.convertShape(S2F, F, 1)).mul(g1).fma(x1, a11);
            float g2 = dw[f + 2];
            a20 = ((FloatVector) s2.convertShape(S2F, F, 0)).add((FloatVector) t2.convertShape(S2F, F, 0)).mul(g2).fma(x0, a20);
            a21 = ((FloatVector) s2.convertShape(S2F, F, 1)).add((FloatVector) t2.convertShape(S2F, F, 1)).mul(g2).fma(x1, a21);
            float g3 = dw[f + 3];
            a30 = ((FloatVector) s3.convertShape(S2F, F, 0)).add((FloatVector) t3.convertShape(S2F, F, 0)).mul(g3).fma(x0, a30);
            a31 = ((FloatVector) s3.convertShape(S2F, F, 1)).add((FloatVector) t3.convertShape(S2F, F, 1)).mul(g3).fma(x1, a31);
        }
        // Row i at i*SL.
        a00.intoArray(tile, 0); a01.intoArray(tile, L); a10.intoArray(tile, SL); a11.intoArray(tile, SL + L);
        a20.intoArray(tile, 2 * SL); a21.intoArray(tile, 2 * SL + L); a30.intoArray(tile, 3 * SL); a31.intoArray(tile, 3 * SL + L);
    }
}
