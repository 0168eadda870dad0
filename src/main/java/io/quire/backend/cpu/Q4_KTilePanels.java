package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.B2F;
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
 * Large batches of {@link Q4_KTiles}' repacked Q4_K, as {@link KQuantShortTile} multiplies stored Q4_K: the
 * batch's Q8_K integers in panels of 32 vectors (one short lane each), a tile's {@code 8 - q} broadcast
 * into them. From {@link #MIN_BATCH} vectors this costs less than the tiles' own kernels, which unpack a
 * column's quants once per four vectors (bench kernels --rows 3072 --cols 768 --threads 1, us, the tiles'
 * kernels against the stored rows' panels: 32 vectors 1,346 against 1,303, 128 5,767 against 4,845). A
 * tile unpacks column by column without moving a byte across lanes: its {@code 8 - q} are kept column
 * after column, 32 rows each, and the kernel takes a row's weight {@code 32} shorts on per column.
 */
final class Q4_KTilePanels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final int SL = Q4_0ShortTile.SL;
    private static final int R = Q4_KTiles.ROWS;
    /** Panels multiplied per pass over a tile's rows: they stay in L2, as {@link ShortTiles}' chunks. */
    private static final int CHUNK = 2;
    /** The smallest batch that takes these panels rather than {@link Q4_KTiles}' own kernels. */
    static final int MIN_BATCH = Integer.getInteger("quire.q4k-tile-panels", 32);

    private static final ThreadLocal<short[]> TILE = ThreadLocal.withInitial(() -> new short[0]);
    private static final ThreadLocal<float[]> SCALES = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> OFFSETS = ThreadLocal.withInitial(() -> new float[0]);

    private Q4_KTilePanels() {}

    /**
     * Tiles {@code t0 .. t1-1} of the repacked weight at absolute address base times the batch packed by
     * {@link ShortTiles#pack} for Q4_K, into {@code out[b*rows + r]}; tile and res: the caller's scratch
     * for the kernel's sums and the tile's results ({@code batch * 32} floats).
     */
    static void multiply(long base, int rows, int cols, int t0, int t1, ShortTiles.Panels x, int batch, float[] out,
            float[] tile, float[] res) {
        int groups = cols / 32, blocks = cols / 256;
        short[] w = Scratch.shorts(TILE, R * cols);
        float[] dw = Scratch.floats(SCALES, R * groups), cw = Scratch.floats(OFFSETS, R * groups);
        int np = Q4_0ShortTile.panels(batch);
        for (int t = t0; t < t1; t++) {
            unpack(base + (long) t * blocks * Q4_KTiles.BLOCK_BYTES, blocks, w, dw, cw);
            for (int p0 = 0; p0 < np; p0 += CHUNK) {
                int p1 = Math.min(np, p0 + CHUNK);
                for (int i = 0; i < R; i += 4) {
                    for (int p = p0; p < p1; p++) {
                        kernel4(w, i, dw, cw, cols, x.qs(), x.d(), x.sums(), p, tile);
                        Q4_0ShortTile.scatter(tile, 1, p, 4, batch, res, R, i);
                    }
                }
            }
            for (int b = 0; b < batch; b++) System.arraycopy(res, b * R, out, b * rows + t * R, R);
        }
    }

    /**
     * A tile's {@code 8 - q} into w, column c's 32 rows from {@code 32c}; per group g, row r's {@code -d sc_g}
     * and {@code 8 d sc_g - dmin m_g} at {@code 32g + r} of dw and cw (as {@link KQuantShortTile#groupFactors}).
     */
    private static void unpack(long tile, int blocks, short[] w, float[] dw, float[] cw) {
        final MemorySegment seg = Simd.ALL;
        final ShortVector eight = ShortVector.broadcast(S, (short) 8);
        for (int s = 0; s < blocks; s++) {
            long sb = tile + (long) s * Q4_KTiles.BLOCK_BYTES;
            for (int h = 0; h < 4; h++) {
                long qa = sb + Q4_KTiles.part(h) + Q4_KTiles.QUANTS;
                for (int i = 0; i < 32; i++) {
                    ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B32, seg, qa + 32L * i, LE)
                            .convertShape(ZERO_EXTEND_B2S, S, 0);
                    int c = 256 * s + 64 * h + i;
                    eight.sub(q.and((short) 15)).intoArray(w, 32 * c);
                    eight.sub(q.lanewise(LSHR, 4)).intoArray(w, 32 * (c + 32));
                }
            }
            for (int half = 0; half < 2; half++) {
                FloatVector d = FloatVector.fromMemorySegment(F, seg, sb + Q4_KTiles.D + 64 * half, LE);
                FloatVector dmin = FloatVector.fromMemorySegment(F, seg, sb + Q4_KTiles.DMIN + 64 * half, LE);
                for (int g = 0; g < 8; g++) {
                    long k = sb + Q4_KTiles.part(g / 2) + 32L * (g % 2) + 16 * half;
                    FloatVector dl = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, k + Q4_KTiles.SCALES, LE)
                            .convertShape(B2F, F, 0)).mul(d);
                    FloatVector ml = ((FloatVector) ByteVector.fromMemorySegment(B16, seg, k + Q4_KTiles.MINS, LE)
                            .convertShape(B2F, F, 0)).mul(dmin);
                    int at = 32 * (8 * s + g) + 16 * half;
                    dl.neg().intoArray(dw, at);
                    dl.mul(8f).sub(ml).intoArray(cw, at);
                }
            }
        }
    }

    // KQuantShortTile's kernel4 over a tile kept column by column: rows i..i+3, their weights 32 shorts
    // apart per column and their factors 32 floats apart per group. Written out: a helper taking or
    // returning a vector is boxed unless C2 inlines it.

    private static void kernel4(short[] w, int i, float[] dw, float[] cw, int cols, short[] xs, float[] xd,
            float[] xb, int p, float[] tile) {
        final int L = F.length();
        final int groups = cols / 32;
        final int q0 = p * cols * SL;
        final int e0 = p * groups * SL;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int g = 0; g < groups; g++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int c = 32 * g; c < 32 * g + 32; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, q0 + c * SL);
                int k = 32 * c + i;
                s0 = ShortVector.broadcast(S, w[k]).mul(v).add(s0);
                s1 = ShortVector.broadcast(S, w[k + 1]).mul(v).add(s1);
                s2 = ShortVector.broadcast(S, w[k + 2]).mul(v).add(s2);
                s3 = ShortVector.broadcast(S, w[k + 3]).mul(v).add(s3);
            }
            int e = e0 + g * SL;
            FloatVector x0 = FloatVector.fromArray(F, xd, e), x1 = FloatVector.fromArray(F, xd, e + L);
            FloatVector b0 = FloatVector.fromArray(F, xb, e), b1 = FloatVector.fromArray(F, xb, e + L);
            int f = 32 * g + i;
            float g0 = dw[f];
            FloatVector c0 = FloatVector.broadcast(F, cw[f]);
            a00 = ((FloatVector) s0.convertShape(S2F, F, 0)).mul(g0).fma(x0, b0.fma(c0, a00));
            a01 = ((FloatVector) s0.convertShape(S2F, F, 1)).mul(g0).fma(x1, b1.fma(c0, a01));
            float g1 = dw[f + 1];
            FloatVector c1 = FloatVector.broadcast(F, cw[f + 1]);
            a10 = ((FloatVector) s1.convertShape(S2F, F, 0)).mul(g1).fma(x0, b0.fma(c1, a10));
            a11 = ((FloatVector) s1.convertShape(S2F, F, 1)).mul(g1).fma(x1, b1.fma(c1, a11));
            float g2 = dw[f + 2];
            FloatVector c2 = FloatVector.broadcast(F, cw[f + 2]);
            a20 = ((FloatVector) s2.convertShape(S2F, F, 0)).mul(g2).fma(x0, b0.fma(c2, a20));
            a21 = ((FloatVector) s2.convertShape(S2F, F, 1)).mul(g2).fma(x1, b1.fma(c2, a21));
            float g3 = dw[f + 3];
            FloatVector c3 = FloatVector.broadcast(F, cw[f + 3]);
            a30 = ((FloatVector) s3.convertShape(S2F, F, 0)).mul(g3).fma(x0, b0.fma(c3, a30));
            a31 = ((FloatVector) s3.convertShape(S2F, F, 1)).mul(g3).fma(x1, b1.fma(c3, a31));
        }
        // Row i at i*SL.
        a00.intoArray(tile, 0); a01.intoArray(tile, L); a10.intoArray(tile, SL); a11.intoArray(tile, SL + L);
        a20.intoArray(tile, 2 * SL); a21.intoArray(tile, 2 * SL + L); a30.intoArray(tile, 3 * SL); a31.intoArray(tile, 3 * SL + L);
    }
}
