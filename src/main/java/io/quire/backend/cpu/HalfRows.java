package io.quire.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Decode attention's reads of an F16 KV cache. A row is read {@code 2L} halves at a time as L ints
 * and widened in place: the low half of each int gives the even elements, the high half the odd
 * ones, with shifts and masks and no lane-changing conversion (a third of the instructions of
 * widening half by half, which left the F16 kernel compute-bound at the F32 kernel's speed). So a
 * row's elements come in "lane order": per {@code 2L} values, the evens then the odds. The caller
 * permutes its query into that order once per token ({@link #permute}) and sums outputs in it
 * ({@link #unpermute}); the rest of a head past the last whole {@code 2L} stays in natural order.
 *
 * <p>Widening: a half {@code s eeeee m(10)} placed at bits 13-28 of an int, sign copied into bits
 * 29-31, then masked to {@code s 000 eeeee m(10) 0(13)}, is the float {@code value * 2^-112}
 * (subnormal halves included); one multiply by 2^112 restores it. The cache never holds an F16
 * infinity ({@link PagedKvCache#toHalf} clamps to 65504); a NaN would read as a large finite value.
 */
final class HalfRows {
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private HalfRows() {}

    /** {@code dst[dstOff..+n)}: {@code src[srcOff..+n)} in lane order. */
    static void permute(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        final int L = Simd.L;
        int c = 0;
        for (; c + 2 * L <= n; c += 2 * L) {
            for (int i = 0; i < L; i++) {
                dst[dstOff + c + i] = src[srcOff + c + 2 * i];
                dst[dstOff + c + L + i] = src[srcOff + c + 2 * i + 1];
            }
        }
        System.arraycopy(src, srcOff + c, dst, dstOff + c, n - c);
    }

    /** {@code dst[dstOff..+n)}: {@code src[srcOff..+n)}, in lane order, back in natural order. */
    static void unpermute(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        final int L = Simd.L;
        int c = 0;
        for (; c + 2 * L <= n; c += 2 * L) {
            for (int i = 0; i < L; i++) {
                dst[dstOff + c + 2 * i] = src[srcOff + c + i];
                dst[dstOff + c + 2 * i + 1] = src[srcOff + c + L + i];
            }
        }
        System.arraycopy(src, srcOff + c, dst, dstOff + c, n - c);
    }

    /** The query {@code qp[qOff..+n)} (lane order) dotted with the n halves at absolute address {@code k}. */
    static float dot(float[] qp, int qOff, long k, int n) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final int L = Simd.L;
        final FloatVector rebias = FloatVector.broadcast(F, 0x1p112f);
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int c = 0;
        for (; c + 2 * L <= n; c += 2 * L) {
            IntVector x = IntVector.fromMemorySegment(I, seg, k + 2L * c, NATIVE);
            FloatVector even = x.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8fffffff)
                    .reinterpretAsFloats().mul(rebias);
            FloatVector odd = x.lanewise(VectorOperators.ASHR, 3).and(0x8fffe000).reinterpretAsFloats().mul(rebias);
            s0 = FloatVector.fromArray(F, qp, qOff + c).fma(even, s0);
            s1 = FloatVector.fromArray(F, qp, qOff + c + L).fma(odd, s1);
        }
        float s = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; c < n; c++) s += qp[qOff + c] * Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, k + 2L * c));
        return s;
    }

    /**
     * {@code acc[accOff + d] += sum_j p[pOff + j] * V[rowOf[j] + d]} over positions j0..j1-1 (one
     * block), acc in lane order, the V rows halves at {@code v + 2 * rowOf[j]}.
     */
    static void addWeighted(float[] p, int pOff, int[] rowOf, int j0, int j1, long v, int headDim, float[] acc,
            int accOff) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final int L = Simd.L;
        final FloatVector rebias = FloatVector.broadcast(F, 0x1p112f);
        int c = 0;
        for (; c + 4 * L <= headDim; c += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = j0; j < j1; j++) {
                // p is applied after the loop's widening multiply: p * 2^112 folded into one broadcast
                FloatVector pj = FloatVector.broadcast(F, p[pOff + j] * 0x1p112f);
                long r = v + 2L * (rowOf[j] + c);
                IntVector x0 = IntVector.fromMemorySegment(I, seg, r, NATIVE);
                IntVector x1 = IntVector.fromMemorySegment(I, seg, r + 4L * L, NATIVE);
                a0 = x0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8fffffff)
                        .reinterpretAsFloats().fma(pj, a0);
                a1 = x0.lanewise(VectorOperators.ASHR, 3).and(0x8fffe000).reinterpretAsFloats().fma(pj, a1);
                a2 = x1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8fffffff)
                        .reinterpretAsFloats().fma(pj, a2);
                a3 = x1.lanewise(VectorOperators.ASHR, 3).and(0x8fffe000).reinterpretAsFloats().fma(pj, a3);
            }
            int o = accOff + c;
            a0.add(FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
            a1.add(FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
            a2.add(FloatVector.fromArray(F, acc, o + 2 * L)).intoArray(acc, o + 2 * L);
            a3.add(FloatVector.fromArray(F, acc, o + 3 * L)).intoArray(acc, o + 3 * L);
        }
        for (; c + 2 * L <= headDim; c += 2 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int j = j0; j < j1; j++) {
                FloatVector pj = FloatVector.broadcast(F, p[pOff + j] * 0x1p112f);
                IntVector x = IntVector.fromMemorySegment(I, seg, v + 2L * (rowOf[j] + c), NATIVE);
                a0 = x.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8fffffff)
                        .reinterpretAsFloats().fma(pj, a0);
                a1 = x.lanewise(VectorOperators.ASHR, 3).and(0x8fffe000).reinterpretAsFloats().fma(pj, a1);
            }
            a0.add(FloatVector.fromArray(F, acc, accOff + c)).intoArray(acc, accOff + c);
            a1.add(FloatVector.fromArray(F, acc, accOff + c + L)).intoArray(acc, accOff + c + L);
        }
        for (int e = c; e < headDim; e++) {
            float a = 0;
            for (int j = j0; j < j1; j++) {
                a += p[pOff + j] * Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, v + 2L * (rowOf[j] + e)));
            }
            acc[accOff + e] += a;
        }
    }
}
