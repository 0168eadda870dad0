package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2F;
import static jdk.incubator.vector.VectorOperators.S2I;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Large batches of {@link Q4_0Tiles}' repacked Q4_0, as {@link Q4_0ShortTile} multiplies stored Q4_0 (the
 * batch in panels of 32 vectors, a tile's {@code q - 8} broadcast into them, one panel a pass: a copy of
 * its two-panel kernel here ran 2x slower in some JVMs, compiled worse), as
 * {@link Q4_KTilePanels} does for Q4_K: from {@link #MIN_BATCH} vectors the tiles' own kernels, which
 * unpack a column once per four vectors, cost more (bench kernels --rows 3072 --cols 768 --threads 1, us,
 * stored rows' panels against the tiles' kernels: 32 vectors 1,222 against 1,349, 128 4,390 against
 * 5,713). The tile is unpacked column by column, 32 rows each, its scales to floats per block.
 */
final class Q4_0TilePanels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final int SL = Q4_0ShortTile.SL;
    private static final int R = Q4_0Tiles.ROWS;
    /** Panels multiplied per pass over a tile's rows: they stay in L2, as {@link ShortTiles}' chunks. */
    private static final int CHUNK = 2;
    /** The smallest batch that takes these panels rather than {@link Q4_0Tiles}' own kernels. */
    static final int MIN_BATCH = Integer.getInteger("quire.q4-0-tile-panels", 32);

    private static final ThreadLocal<short[]> TILE = ThreadLocal.withInitial(() -> new short[0]);
    private static final ThreadLocal<float[]> SCALES = ThreadLocal.withInitial(() -> new float[0]);

    private Q4_0TilePanels() {}

    static {
        // As Q4_0ShortTile's prime: the kernel runs on one block before it is hot.
        short[] w = new short[32 * 32], xs = new short[32 * SL];
        float[] dw = new float[32], xd = new float[SL], tile = new float[Q4_0ShortTile.TILE_SUMS];
        for (int n = 0; n < 1000; n++) kernel4x1(w, 0, dw, 32, xs, xd, 0, tile);
    }

    /**
     * Tiles {@code t0 .. t1-1} of the repacked weight at absolute address base times the batch packed by
     * {@link ShortTiles#pack} for Q4_0, into {@code out[b*rows + r]}; tile and res: the caller's scratch.
     */
    static void multiply(long base, int rows, int cols, int t0, int t1, ShortTiles.Panels x, int batch, float[] out,
            float[] tile, float[] res) {
        int blocks = cols / 32;
        short[] w = Scratch.shorts(TILE, R * cols);
        float[] dw = Scratch.floats(SCALES, R * blocks);
        int np = Q4_0ShortTile.panels(batch);
        for (int t = t0; t < t1; t++) {
            unpack(base + (long) t * blocks * Q4_0Tiles.BLOCK_BYTES, blocks, w, dw);
            for (int p0 = 0; p0 < np; p0 += CHUNK) {
                int p1 = Math.min(np, p0 + CHUNK);
                for (int i = 0; i < R; i += 4) {
                    for (int p = p0; p < p1; p++) {
                        kernel4x1(w, i, dw, cols, x.qs(), x.d(), p, tile);
                        Q4_0ShortTile.scatter(tile, 1, p, 4, batch, res, R, i);
                    }
                }
            }
            for (int b = 0; b < batch; b++) System.arraycopy(res, b * R, out, b * rows + t * R, R);
        }
    }

    /** A tile's {@code q - 8} into w, column c's 32 rows from {@code 32c}; block k's scales of the 32 rows at {@code 32k}. */
    private static void unpack(long tile, int blocks, short[] w, float[] dw) {
        final MemorySegment seg = Simd.ALL;
        final ShortVector eight = ShortVector.broadcast(S, (short) 8);
        final FloatVector rebias = FloatVector.broadcast(F, 0x1p112f);
        for (int k = 0; k < blocks; k++) {
            long b = tile + (long) k * Q4_0Tiles.BLOCK_BYTES;
            for (int i = 0; i < 16; i++) {
                ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B32, seg, b + 32L * i, LE)
                        .convertShape(ZERO_EXTEND_B2S, S, 0);
                q.and((short) 15).sub(eight).intoArray(w, 32 * (32 * k + i));
                q.lanewise(LSHR, 4).sub(eight).intoArray(w, 32 * (32 * k + 16 + i));
            }
            for (int half = 0; half < 2; half++) {
                IntVector h = (IntVector) ShortVector.fromMemorySegment(S16, seg, b + Q4_0Tiles.SCALES + 32 * half, LE)
                        .convertShape(S2I, I, 0);
                IntVector m = h.and(0x7fff).lanewise(LSHL, 13);
                m.reinterpretAsFloats().mul(rebias).reinterpretAsInts().blend(m.or(0x7f800000), m.compare(GE, 0x7c00 << 13))
                        .or(h.and(0x80000000)).reinterpretAsFloats().intoArray(dw, 32 * k + 16 * half);
            }
        }
    }

    // Q4_0ShortTile's one-panel kernel over a tile kept column by column: rows i..i+3, their weights 32 shorts apart
    // per column and their scales 32 floats apart per block. Written out: a helper taking or returning a
    // vector is boxed unless C2 inlines it.

    private static void kernel4x1(short[] w, int i, float[] dw, int cols, short[] xs, float[] xd,
            int p, float[] tile) {
        final int L = F.length();
        final int blocks = cols / 32;
        final int q0 = p * cols * SL;
        final int e0 = p * blocks * SL;
        final ShortVector z = ShortVector.zero(S);
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int k = 0; k < blocks; k++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int c = 32 * k; c < 32 * k + 32; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, q0 + c * SL);
                s0 = ShortVector.broadcast(S, w[32 * c + i]).mul(v).add(s0);
                s1 = ShortVector.broadcast(S, w[32 * c + i + 1]).mul(v).add(s1);
                s2 = ShortVector.broadcast(S, w[32 * c + i + 2]).mul(v).add(s2);
                s3 = ShortVector.broadcast(S, w[32 * c + i + 3]).mul(v).add(s3);
            }
            FloatVector x0 = FloatVector.fromArray(F, xd, e0 + k * SL), x1 = FloatVector.fromArray(F, xd, e0 + k * SL + L);
            FloatVector g = FloatVector.broadcast(F, dw[32 * k + i]);
            a00 = ((FloatVector) s0.convertShape(S2F, F, 0)).mul(g).fma(x0, a00);
            a01 = ((FloatVector) s0.convertShape(S2F, F, 1)).mul(g).fma(x1, a01);
            g = FloatVector.broadcast(F, dw[32 * k + i + 1]);
            a10 = ((FloatVector) s1.convertShape(S2F, F, 0)).mul(g).fma(x0, a10);
            a11 = ((FloatVector) s1.convertShape(S2F, F, 1)).mul(g).fma(x1, a11);
            g = FloatVector.broadcast(F, dw[32 * k + i + 2]);
            a20 = ((FloatVector) s2.convertShape(S2F, F, 0)).mul(g).fma(x0, a20);
            a21 = ((FloatVector) s2.convertShape(S2F, F, 1)).mul(g).fma(x1, a21);
            g = FloatVector.broadcast(F, dw[32 * k + i + 3]);
            a30 = ((FloatVector) s3.convertShape(S2F, F, 0)).mul(g).fma(x0, a30);
            a31 = ((FloatVector) s3.convertShape(S2F, F, 1)).mul(g).fma(x1, a31);
        }
        // Row i at i*SL (one panel).
        a00.intoArray(tile, 0); a01.intoArray(tile, L); a10.intoArray(tile, SL); a11.intoArray(tile, SL + L);
        a20.intoArray(tile, 2 * SL); a21.intoArray(tile, 2 * SL + L); a30.intoArray(tile, 3 * SL); a31.intoArray(tile, 3 * SL + L);
    }
}
