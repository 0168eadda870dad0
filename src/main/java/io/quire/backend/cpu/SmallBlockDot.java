package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorShuffle;

/**
 * Batch-1 dot products of Q4_1, Q5_0, Q5_1 and IQ4_NL rows with float activations, like
 * {@link MatMul}'s Q4_0 kernel: the integer quants are widened to float lanes and multiplied into x
 * per 32-value block, then scaled by d; the offsets (Q4_1/Q5_1's m, Q5_0's -16) are applied once per
 * block through the block sums of x ({@code xSums}).
 */
final class SmallBlockDot {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int[] IOTA = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    private SmallBlockDot() {}

    /**
     * Q4_1 (mOff 2, qhOff -1), Q5_0 (no m: mOff -1, qhOff 2) or Q5_1 (mOff 2, qhOff 4) row times x:
     * {@code sum d*q*x + m*sum(x)} with q the 4- or 5-bit value, minus {@code 16*d*sum(x)} for Q5_0.
     */
    static float dot(long off, int blockBytes, int mOff, int qhOff, float[] x, int xOff, int cols, float[] xSums,
            int sumsOff) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var B = Simd.B;
        final int L = Simd.L;
        final long qsOff = qhOff >= 0 ? qhOff + 4 : 4;
        final IntVector iota = IntVector.fromArray(I, IOTA, 0);
        FloatVector acc = FloatVector.zero(F);
        float corr = 0;
        for (int b = 0; b < cols / 32; b++, off += blockBytes) {
            int xc = xOff + 32 * b;
            int qh = qhOff >= 0 ? seg.get(Layouts.INT_LE, off + qhOff) : 0;
            FloatVector p = FloatVector.zero(F);
            for (int i = 0; i < 16; i += L) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, off + qsOff + i, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                IntVector lo = q.and(15), hi = q.lanewise(LSHR, 4);
                if (qhOff >= 0) {
                    IntVector bits = IntVector.broadcast(I, qh);
                    lo = lo.or(bits.lanewise(LSHR, iota.add(i)).and(1).lanewise(LSHL, 4));
                    hi = hi.or(bits.lanewise(LSHR, iota.add(16 + i)).and(1).lanewise(LSHL, 4));
                }
                p = ((FloatVector) lo.convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xc + i), p);
                p = ((FloatVector) hi.convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xc + 16 + i), p);
            }
            float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off));
            acc = p.fma(FloatVector.broadcast(F, d), acc);
            corr += (mOff >= 0 ? Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + mOff)) : -16 * d) * xSums[sumsOff + b];
        }
        return acc.reduceLanes(ADD) + corr;
    }

    /** IQ4_NL row times x (from {@code xOff}): {@code sum d*grid[q]*x}. */
    static float iq4nl(long off, float[] x, int xOff, int cols) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var B = Simd.B;
        final int L = Simd.L;
        final IntVector grid0 = IntVector.fromArray(I, KQuants.IQ4_GRID, 0);
        final IntVector grid1 = L == 16 ? grid0 : IntVector.fromArray(I, KQuants.IQ4_GRID, 8);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < cols / 32; b++, off += 18) {
            int xc = xOff + 32 * b;
            FloatVector p = FloatVector.zero(F);
            for (int i = 0; i < 16; i += L) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 2 + i, LE)
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
                p = ((FloatVector) vlo.convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xc + i), p);
                p = ((FloatVector) vhi.convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xc + 16 + i), p);
            }
            acc = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off))), acc);
        }
        return acc.reduceLanes(ADD);
    }
}
