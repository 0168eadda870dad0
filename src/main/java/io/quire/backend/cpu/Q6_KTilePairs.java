package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batches of 12-16 vectors of {@link Q6_KTiles}' repacked Q6_K in one panel of column pairs, as
 * {@link Q6_KInterleavedTile} multiplies stored Q6_K (the same packed panel, the same arithmetic): a row's
 * two columns' {@code q - 32} in one int, broadcast from memory (a load, where the tiles' own kernels
 * broadcast a short per vector and column, a shuffle), times 16 vectors' two columns at once. The tile
 * unpacks column pair by column pair without a transpose: two columns' 32-row vectors zipped into the
 * rows' pairs, kept pair after pair, 32 rows each. Its own kernels took 0.64x stored Q6_K's time at 16
 * vectors (bench kernels --rows 3072 --cols 768 --types Q6_K,Q6_K_R32 --threads 1).
 */
final class Q6_KTilePairs {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final int MAX_BATCH = Q4_0InterleavedTile.MAX_BATCH;
    private static final int R = Q6_KTiles.ROWS;
    /** Lanes that zip two columns' vectors into the pairs of rows 0-15 and of rows 16-31. */
    private static final ShortVector LOW_ROWS, HIGH_ROWS;

    static {
        short[] lo = new short[32], hi = new short[32];
        for (int r = 0; r < 16; r++) {
            lo[2 * r] = (short) r;
            lo[2 * r + 1] = (short) (32 + r);
            hi[2 * r] = (short) (16 + r);
            hi[2 * r + 1] = (short) (48 + r);
        }
        LOW_ROWS = ShortVector.fromArray(S, lo, 0);
        HIGH_ROWS = ShortVector.fromArray(S, hi, 0);
    }

    private static final ThreadLocal<int[]> TILE = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<float[]> SCALES = ThreadLocal.withInitial(() -> new float[0]);

    private Q6_KTilePairs() {}

    /** Whether a batch of this size takes these panels: the interleaved panels' sizes. */
    static boolean takes(int batch) {
        return ShortTiles.interleaved(batch);
    }

    /**
     * Tiles {@code t0 .. t1-1} of the repacked weight at absolute address base times the panel packed by
     * {@link ShortTiles#pack} for Q6_K at this batch (interleaved), into {@code out[b*rows + r]}; tile and
     * res: the caller's scratch ({@code 4 * 16} and {@code batch * 32} floats).
     */
    static void multiply(long base, int rows, int cols, int t0, int t1, ShortTiles.Panels x, int batch, float[] out,
            float[] tile, float[] res) {
        int blocks = cols / 256;
        int[] w = Scratch.ints(TILE, R * cols / 2);
        float[] dw = Scratch.floats(SCALES, R * cols / 16);
        for (int t = t0; t < t1; t++) {
            unpack(base + (long) t * blocks * Q6_KTiles.BLOCK_BYTES, blocks, w, dw);
            for (int i = 0; i < R; i += 4) {
                kernel4(w, i, dw, cols, x.qs(), x.d(), tile);
                Q4_0InterleavedTile.gather(tile, 4, batch, res, R, i);
            }
            for (int b = 0; b < batch; b++) System.arraycopy(res, b * R, out, b * rows + t * R, R);
        }
    }

    /**
     * A tile's {@code q - 32} as pairs: columns 2k and 2k + 1 of row r in the int at {@code 32k + r} of w;
     * group g's {@code d sc_g} of row r at {@code 32g + r} of dw.
     */
    private static void unpack(long tile, int blocks, int[] w, float[] dw) {
        final MemorySegment seg = Simd.ALL;
        final ShortVector bias = ShortVector.broadcast(S, (short) 32);
        for (int s = 0; s < blocks; s++) {
            long sb = tile + (long) s * Q6_KTiles.BLOCK_BYTES;
            Q6_KTiles.groupFactors(sb, dw, 32 * 16 * s);
            for (int g = 0; g < 16; g++) {
                long pg = sb + Q6_KTiles.part(g / 2);
                for (int h = 0; h < 2; h++) {
                    long run = pg + Q6_KTiles.RUNS + Q6_KTiles.RUN_BYTES * (2 * (g % 2) + h);
                    int k = 32 * ((256 * s + 16 * g + 8 * h) / 2);  // the run's first pair
                    ShortVector w0 = ShortVector.fromMemorySegment(S, seg, run, LE);
                    ShortVector w1 = ShortVector.fromMemorySegment(S, seg, run + 64, LE);
                    ShortVector w2 = ShortVector.fromMemorySegment(S, seg, run + 128, LE);
                    ShortVector a = w0.and((short) 63).sub(bias), b = w0.lanewise(LSHR, 6).and((short) 63).sub(bias);
                    LOW_ROWS.selectFrom(a, b).reinterpretAsInts().intoArray(w, k);
                    HIGH_ROWS.selectFrom(a, b).reinterpretAsInts().intoArray(w, k + 16);
                    a = w1.and((short) 63).sub(bias);
                    b = w1.lanewise(LSHR, 6).and((short) 63).sub(bias);
                    LOW_ROWS.selectFrom(a, b).reinterpretAsInts().intoArray(w, k + 32);
                    HIGH_ROWS.selectFrom(a, b).reinterpretAsInts().intoArray(w, k + 48);
                    a = w2.and((short) 63).sub(bias);
                    b = w2.lanewise(LSHR, 6).and((short) 63).sub(bias);
                    LOW_ROWS.selectFrom(a, b).reinterpretAsInts().intoArray(w, k + 64);
                    HIGH_ROWS.selectFrom(a, b).reinterpretAsInts().intoArray(w, k + 80);
                    a = w0.lanewise(LSHR, 12).or(w1.lanewise(LSHR, 8).and((short) 0x30)).sub(bias);
                    b = w1.lanewise(LSHR, 14).or(w2.lanewise(LSHR, 10).and((short) 0x3C)).sub(bias);
                    LOW_ROWS.selectFrom(a, b).reinterpretAsInts().intoArray(w, k + 96);
                    HIGH_ROWS.selectFrom(a, b).reinterpretAsInts().intoArray(w, k + 112);
                }
            }
        }
    }

    /**
     * {@link Q6_KInterleavedTile}'s kernel over a tile kept pair by pair: rows i..i+3, their pairs 32 ints
     * apart per column pair and their factors 32 floats apart per group. Row r's sums at
     * {@code tile[r*MAX_BATCH]}. Written out: a helper taking or returning a vector is boxed unless C2
     * inlines it.
     */
    private static void kernel4(int[] w, int i, float[] dw, int cols, short[] xs, float[] xd, float[] tile) {
        final int groups = cols / 16;
        final int sl = S.length();
        final ShortVector z = ShortVector.zero(S);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int g = 0; g < groups; g++) {
            ShortVector s0 = z, s1 = z, s2 = z, s3 = z;
            for (int c = 8 * g; c < 8 * g + 8; c++) {
                ShortVector v = ShortVector.fromArray(S, xs, c * sl);
                int k = 32 * c + i;
                s0 = IntVector.broadcast(I, w[k]).reinterpretAsShorts().mul(v).add(s0);
                s1 = IntVector.broadcast(I, w[k + 1]).reinterpretAsShorts().mul(v).add(s1);
                s2 = IntVector.broadcast(I, w[k + 2]).reinterpretAsShorts().mul(v).add(s2);
                s3 = IntVector.broadcast(I, w[k + 3]).reinterpretAsShorts().mul(v).add(s3);
            }
            // The block's d_x per vector, at the panel's scales of the 32-value group that holds this one.
            FloatVector x = FloatVector.fromArray(F, xd, (g / 2) * MAX_BATCH);
            int f = 32 * g + i;
            IntVector t;
            t = s0.reinterpretAsInts();
            a0 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0))
                    .mul(dw[f]).fma(x, a0);
            t = s1.reinterpretAsInts();
            a1 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0))
                    .mul(dw[f + 1]).fma(x, a1);
            t = s2.reinterpretAsInts();
            a2 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0))
                    .mul(dw[f + 2]).fma(x, a2);
            t = s3.reinterpretAsInts();
            a3 = ((FloatVector) t.lanewise(LSHL, 16).lanewise(ASHR, 16).add(t.lanewise(ASHR, 16)).convert(I2F, 0))
                    .mul(dw[f + 3]).fma(x, a3);
        }
        a0.intoArray(tile, 0); a1.intoArray(tile, MAX_BATCH); a2.intoArray(tile, 2 * MAX_BATCH);
        a3.intoArray(tile, 3 * MAX_BATCH);
    }
}
