package io.quire.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Decode attention's reads of an FP8 KV cache, as {@link HalfRows} reads an F16 one: a row is read
 * {@code 4L} bytes at a time as L ints, and byte k of every int is moved to the top and shifted
 * into a float's place ({@link Fp8}), with no lane-changing conversion. So a row's elements come in
 * "lane order": per {@code 4L} values, lane i of slice k is element {@code 4i + k}. The caller
 * permutes its query into that order once per token ({@link #permute}) and sums outputs in it
 * ({@link #unpermute}); the rest of a head past the last whole {@code 4L} stays in natural order.
 *
 * <p>The decoded floats are the values times {@code 2^-rebias}. A query is permuted times
 * {@code 2^(rebias/2)} and a dot product multiplied by the other half at the end, so the products
 * stay normal floats (not subnormal) and the sums are those of the values, scaled by powers of two
 * (exact). Probabilities (at most 1) take the whole {@code 2^rebias}.
 */
final class Fp8Rows {
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private Fp8Rows() {}

    /** The factor {@link #permute} applies to a query. */
    static float queryScale(Fp8 f) {
        return Math.scalb(1f, f.rebias / 2);
    }

    /** What a dot product of a permuted query and a row is multiplied by to give the true one. */
    static float dotScale(Fp8 f) {
        return Math.scalb(1f, f.rebias - f.rebias / 2);
    }

    /** {@code dst[dstOff..+n)}: {@code src[srcOff..+n)} times {@code factor}, in lane order. */
    static void permute(float[] src, int srcOff, float[] dst, int dstOff, int n, float factor) {
        final int L = Simd.L;
        int c = 0;
        for (; c + 4 * L <= n; c += 4 * L) {
            for (int k = 0; k < 4; k++) {
                for (int i = 0; i < L; i++) dst[dstOff + c + k * L + i] = src[srcOff + c + 4 * i + k] * factor;
            }
        }
        for (; c < n; c++) dst[dstOff + c] = src[srcOff + c] * factor;
    }

    /** {@code dst[dstOff..+n)}: {@code src[srcOff..+n)}, in lane order, back in natural order. */
    static void unpermute(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        final int L = Simd.L;
        int c = 0;
        for (; c + 4 * L <= n; c += 4 * L) {
            for (int k = 0; k < 4; k++) {
                for (int i = 0; i < L; i++) dst[dstOff + c + 4 * i + k] = src[srcOff + c + k * L + i];
            }
        }
        System.arraycopy(src, srcOff + c, dst, dstOff + c, n - c);
    }

    /**
     * The query {@code qp[qOff..+n)} (lane order, {@link #permute}d with {@link #queryScale}) dotted
     * with the n bytes at absolute address {@code k}, times {@code 2^-(rebias/2)}: multiply by
     * {@link #dotScale} for the true dot product.
     */
    static float dot(Fp8 f, float[] qp, int qOff, long k, int n) {
        // The shifts as constants (Fp8): with them variable, C2's loop ran about 2x slower here.
        return f == Fp8.E4M3 ? dot(f, qp, qOff, k, n, Fp8.E4M3_SHIFT, Fp8.E4M3_MASK)
                : dot(f, qp, qOff, k, n, Fp8.E5M2_SHIFT, Fp8.E5M2_MASK);
    }

    private static float dot(Fp8 f, float[] qp, int qOff, long k, int n, int shift, int mask) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final int L = Simd.L;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int c = 0;
        for (; c + 4 * L <= n; c += 4 * L) {
            IntVector x = IntVector.fromMemorySegment(I, seg, k + c, NATIVE);
            FloatVector e0 = x.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, shift).and(mask)
                    .reinterpretAsFloats();
            FloatVector e1 = x.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, shift).and(mask)
                    .reinterpretAsFloats();
            FloatVector e2 = x.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, shift).and(mask)
                    .reinterpretAsFloats();
            FloatVector e3 = x.lanewise(VectorOperators.ASHR, shift).and(mask).reinterpretAsFloats();
            s0 = FloatVector.fromArray(F, qp, qOff + c).fma(e0, s0);
            s1 = FloatVector.fromArray(F, qp, qOff + c + L).fma(e1, s1);
            s2 = FloatVector.fromArray(F, qp, qOff + c + 2 * L).fma(e2, s2);
            s3 = FloatVector.fromArray(F, qp, qOff + c + 3 * L).fma(e3, s3);
        }
        float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; c < n; c++) s += qp[qOff + c] * f.bitsOf(seg.get(ValueLayout.JAVA_BYTE, k + c));
        return s;
    }

    /**
     * {@code acc[accOff + d] += sum_j p[pOff + j] * V[rowOf[j] + d]} over positions j0..j1-1 (one
     * block), acc in lane order, the V rows bytes at {@code v + rowOf[j]}.
     */
    static void addWeighted(Fp8 f, float[] p, int pOff, int[] rowOf, int j0, int j1, long v, int headDim,
            float[] acc, int accOff) {
        if (f == Fp8.E4M3) addWeighted(f, p, pOff, rowOf, j0, j1, v, headDim, acc, accOff, Fp8.E4M3_SHIFT, Fp8.E4M3_MASK);
        else addWeighted(f, p, pOff, rowOf, j0, j1, v, headDim, acc, accOff, Fp8.E5M2_SHIFT, Fp8.E5M2_MASK);
    }

    private static void addWeighted(Fp8 f, float[] p, int pOff, int[] rowOf, int j0, int j1, long v, int headDim,
            float[] acc, int accOff, int shift, int mask) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final int L = Simd.L;
        final float rebias = Math.scalb(1f, f.rebias);
        int c = 0;
        for (; c + 4 * L <= headDim; c += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = j0; j < j1; j++) {
                // p is applied after the widening's missing multiply: p * 2^rebias folded into one broadcast
                FloatVector pj = FloatVector.broadcast(F, p[pOff + j] * rebias);
                IntVector x = IntVector.fromMemorySegment(I, seg, v + rowOf[j] + c, NATIVE);
                a0 = x.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, shift).and(mask)
                        .reinterpretAsFloats().fma(pj, a0);
                a1 = x.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, shift).and(mask)
                        .reinterpretAsFloats().fma(pj, a1);
                a2 = x.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, shift).and(mask)
                        .reinterpretAsFloats().fma(pj, a2);
                a3 = x.lanewise(VectorOperators.ASHR, shift).and(mask).reinterpretAsFloats().fma(pj, a3);
            }
            int o = accOff + c;
            a0.add(FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
            a1.add(FloatVector.fromArray(F, acc, o + L)).intoArray(acc, o + L);
            a2.add(FloatVector.fromArray(F, acc, o + 2 * L)).intoArray(acc, o + 2 * L);
            a3.add(FloatVector.fromArray(F, acc, o + 3 * L)).intoArray(acc, o + 3 * L);
        }
        for (int e = c; e < headDim; e++) {
            float a = 0;
            for (int j = j0; j < j1; j++) a += p[pOff + j] * f.decode(seg.get(ValueLayout.JAVA_BYTE, v + rowOf[j] + e));
            acc[accOff + e] += a;
        }
    }
}
