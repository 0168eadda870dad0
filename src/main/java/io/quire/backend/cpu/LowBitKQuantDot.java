package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch-1 dot products of Q2_K, Q3_K and IQ4_XS rows with a {@link Q8K} activation row, in integers per
 * block as {@link KQuantDot} does for Q4_K..Q6_K (same structure; see there). Q3_K's "-4 unless the high
 * bit is set" and Q2_K's mins come in through the activation's 16-value sums; IQ4_XS looks its 4-bit
 * indexes up in the non-linear grid with a lane permute.
 */
final class LowBitKQuantDot {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private LowBitKQuantDot() {}

    /** Q2_K: x = d*(sc&15)*q - dmin*(sc>>4), q 2 bits, a scale byte per 16 values. */
    static float q2k(long off, Q8K y, int cols) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var B = Simd.B;
        final int L = Simd.L;
        final int[] q8 = y.q;
        FloatVector total = FloatVector.zero(F);
        float sum = 0;
        for (int blk = 0; blk < cols / 256; blk++, off += 84) {
            int yo = 256 * blk;
            IntVector acc = IntVector.zero(I);
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l += L) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 16 + 32 * h + l, LE)
                            .convertShape(ZERO_EXTEND_B2I, I, 0);
                    int e = 128 * h + l;
                    for (int s = 0; s < 4; s++) {
                        int sc = seg.get(ValueLayout.JAVA_BYTE, off + (e + 32 * s) / 16) & 15;
                        IntVector p = q.lanewise(LSHR, 2 * s).and(3).mul(IntVector.fromArray(I, q8, yo + e + 32 * s));
                        acc = acc.add(p.mul(sc));
                    }
                }
            }
            int mins = 0;
            for (int g = 0; g < 16; g++) mins += (KQuants.u8(off + g) >> 4) * y.bsums[16 * blk + g];
            float yd = y.d[blk];
            float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 80));
            float dmin = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 82));
            total = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(F, yd * d), total);
            sum -= yd * dmin * mins;
        }
        return total.reduceLanes(ADD) + sum;
    }

    /** Q3_K: x = d*(sc-32)*((q | hbit << 2) - 4), 16 6-bit scales; sc: 16 ints of scratch. */
    static float q3k(long off, Q8K y, int cols, int[] sc) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var B = Simd.B;
        final int L = Simd.L;
        final int[] q8 = y.q;
        FloatVector total = FloatVector.zero(F);
        float sum = 0;
        for (int blk = 0; blk < cols / 256; blk++, off += 110) {
            int yo = 256 * blk;
            LowBitKQuants.q3kScales(off + 96, sc);
            IntVector acc = IntVector.zero(I);
            for (int l = 0; l < 32; l += L) {
                IntVector hm = (IntVector) ByteVector.fromMemorySegment(B, seg, off + l, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                for (int h = 0; h < 2; h++) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 32 + 32 * h + l, LE)
                            .convertShape(ZERO_EXTEND_B2I, I, 0);
                    for (int s = 0; s < 4; s++) {
                        int e = 128 * h + 32 * s + l;
                        IntVector v = q.lanewise(LSHR, 2 * s).and(3)
                                .or(hm.lanewise(LSHR, 4 * h + s).and(1).lanewise(LSHL, 2));
                        acc = acc.add(v.mul(IntVector.fromArray(I, q8, yo + e)).mul(sc[e / 16]));
                    }
                }
            }
            int offset = 0;
            for (int g = 0; g < 16; g++) offset += sc[g] * y.bsums[16 * blk + g];
            float dd = y.d[blk] * Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 108));
            total = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(F, dd), total);
            sum -= dd * 4 * offset;
        }
        return total.reduceLanes(ADD) + sum;
    }

    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    /** IQ4_XS: x = d*(sc-32)*grid[q], 8 6-bit scales per 256 values. */
    static float iq4xs(long off, Q8K y, int cols) {
        if (Simd.L >= 16) return iq4xsShorts(off, y, cols);
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var B = Simd.B;
        final int L = Simd.L;
        final int[] q8 = y.q;
        // The 16-entry grid in lanes: one vector at 16 lanes, two halves picked by the index's bit 3 at 8.
        final IntVector grid0 = IntVector.fromArray(I, KQuants.IQ4_GRID, 0);
        final IntVector grid1 = L == 16 ? grid0 : IntVector.fromArray(I, KQuants.IQ4_GRID, 8);
        FloatVector total = FloatVector.zero(F);
        for (int blk = 0; blk < cols / 256; blk++, off += 136) {
            int yo = 256 * blk;
            IntVector acc = IntVector.zero(I);
            for (int j = 0; j < 8; j++) {
                IntVector p = IntVector.zero(I);
                for (int l = 0; l < 16; l += L) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 8 + 16 * j + l, LE)
                            .convertShape(ZERO_EXTEND_B2I, I, 0);
                    IntVector lo = q.and(15), hi = q.lanewise(LSHR, 4);
                    IntVector vlo, vhi;
                    if (L == 16) {
                        vlo = grid0.rearrange(lo.toShuffle());
                        vhi = grid0.rearrange(hi.toShuffle());
                    } else {
                        VectorShuffle<Integer> slo = lo.and(7).toShuffle(), shi = hi.and(7).toShuffle();
                        vlo = grid0.rearrange(slo).blend(grid1.rearrange(slo), lo.compare(GE, 8));
                        vhi = grid0.rearrange(shi).blend(grid1.rearrange(shi), hi.compare(GE, 8));
                    }
                    p = p.add(vlo.mul(IntVector.fromArray(I, q8, yo + 32 * j + l)))
                            .add(vhi.mul(IntVector.fromArray(I, q8, yo + 32 * j + 16 + l)));
                }
                acc = acc.add(p.mul(LowBitKQuants.iq4xsScale(off, j)));
            }
            float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off));
            total = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(F, y.d[blk] * d), total);
        }
        return total.reduceLanes(ADD);
    }

    /**
     * IQ4_XS in 16-bit lanes on AVX-512 machines (whose {@code vpermw} looks a short up in one operation):
     * a group's 16 bytes widen to 16 shorts, each nibble is looked up in the grid ({@code selectFrom}, which
     * skips the index check a shuffle's {@code rearrange} made) and multiplied by its int8 activation (at
     * most 127 x 127, one product a short), each product vector's adjacent pairs go to 8 int lanes (three
     * operations, as {@link KQuantDot}), and the two halves times the group's scale, unpacked in registers
     * from two loads per block, into the block's int sum: the same integers as the int-lane kernel above.
     * bench kernels, 3072 x 768, one thread, best of 301: 323-325 us for the int lanes, 280-283 with a
     * rearrange, 255 with selectFrom, 208-210 with the scales read once per block.
     */
    private static float iq4xsShorts(long off, Q8K y, int cols) {
        final MemorySegment seg = Simd.ALL;
        final short[] q8 = y.qs;
        final ShortVector grid = ShortVector.fromArray(S16, KQuants.IQ4_GRID_SHORTS, 0);
        FloatVector total = FloatVector.zero(F8);
        for (int blk = 0; blk < cols / 256; blk++, off += 136) {
            int yo = 256 * blk;
            // The 8 scales' low nibbles and high bit pairs, read once per block (LowBitKQuants.iq4xsScale).
            int low = seg.get(Layouts.INT_LE, off + 4);
            int high = seg.get(Layouts.SHORT_LE, off + 2);
            IntVector acc = IntVector.zero(I8);
            for (int j = 0; j < 8; j++) {
                ShortVector q = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 8 + 16 * j, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m0 = q.and((short) 15).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, q8, yo + 32 * j)).reinterpretAsInts();
                IntVector m1 = q.lanewise(LSHR, 4).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, q8, yo + 32 * j + 16)).reinterpretAsInts();
                IntVector p = m0.add(m0.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .add(m1.add(m1.lanewise(LSHL, 16)).lanewise(ASHR, 16));
                acc = acc.add(p.mul((((low >>> 4 * j) & 15) | ((high >>> 2 * j) & 3) << 4) - 32));
            }
            float d = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
            total = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(F8, y.d[blk] * d), total);
        }
        return total.reduceLanes(ADD);
    }
}
