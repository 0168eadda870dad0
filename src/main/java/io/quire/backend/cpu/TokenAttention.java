package io.quire.backend.cpu;

import io.quire.backend.TensorType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Attention of one token (a decode step, or a prompt run too short for {@link AttentionTile}) for
 * the query heads of one KV group, by dot products: each block of K, then of V, is read once for
 * all the group's heads while it sits in L1. An F16 cache is read by {@link HalfRows}, an FP8 one by
 * {@link Fp8Rows}, against the group's queries and outputs in their lane order.
 */
final class TokenAttention {
    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[256]);
    private static final ThreadLocal<float[]> HALF_Q = ThreadLocal.withInitial(() -> new float[256]);
    private static final ThreadLocal<float[]> HALF_OUT = ThreadLocal.withInitial(() -> new float[256]);
    private static final ThreadLocal<int[]> OFFSETS = ThreadLocal.withInitial(() -> new int[256]);
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private TokenAttention() {}

    /**
     * Token t's query heads of KV heads {@code kvHead0 .. kvHead0 + kvHeads - 1}, by dot products: the
     * decode path. {@code type}: what the cache holds, F32, F16 or FP8. A block holds its KV heads'
     * rows one head after the other, so with every head of a block read before the next block the
     * reads run through memory in order, which the prefetchers follow; head after head through the
     * whole sequence they jumped from one head's run in a block (4 KiB for 16 F32 rows of 64) to the
     * next block's. Each query head's arithmetic is the same either way.
     */
    static void attend(float[] q, float[] out, int t, int kvHead0, int kvHeads, int[] positions, int[] table,
            int numHeads, int group, int headDim, int bs, int kvDim, long keys, long values, TensorType type, int window,
            float scale, float softcap) {
        boolean half = type == TensorType.F16;
        Fp8 f8 = Fp8.of(type);
        long bytes = half ? 2 : f8 != null ? 1 : 4;
        int start = PagedAttention.first(positions[t], window);
        int len = positions[t] + 1 - start;
        int heads = kvHeads * group;
        int qOff = t * numHeads * headDim + kvHead0 * group * headDim;
        float[] scores = Scratch.floats(SCORES, heads * len);
        int[] rowOf = Scratch.ints(OFFSETS, len);
        PagedAttention.rowOffsets(table, start, len, bs, kvDim, kvHead0, headDim, rowOf);
        float[] qp = null, acc = null;
        float dotScale = 1f;
        if (half || f8 != null) {
            // The queries in the row reader's lane order, and the outputs summed in that order.
            qp = Scratch.floats(HALF_Q, heads * headDim);
            acc = Scratch.floats(HALF_OUT, heads * headDim);
            for (int g = 0; g < heads; g++) {
                if (half) HalfRows.permute(q, qOff + g * headDim, qp, g * headDim, headDim);
                else Fp8Rows.permute(q, qOff + g * headDim, qp, g * headDim, headDim, Fp8Rows.queryScale(f8));
            }
            Arrays.fill(acc, 0, heads * headDim, 0f);
            if (f8 != null) dotScale = Fp8Rows.dotScale(f8);
        }
        for (int j0 = 0; j0 < len; j0 += bs) {
            int j1 = Math.min(len, j0 + bs);
            for (int g = 0; g < heads; g++) {
                int qh = qOff + g * headDim;
                // this query head's KV head, from kvHead0's rows: the next head's rows follow a block's
                long k = keys + bytes * ((long) (g / group) * bs * headDim);
                if (half) {
                    for (int j = j0; j < j1; j++) {
                        scores[g * len + j] = scale * HalfRows.dot(qp, g * headDim, k + 2L * rowOf[j], headDim);
                    }
                } else if (f8 != null) {
                    float s = scale * dotScale;
                    for (int j = j0; j < j1; j++) {
                        scores[g * len + j] = s * Fp8Rows.dot(f8, qp, g * headDim, k + rowOf[j], headDim);
                    }
                } else {
                    for (int j = j0; j < j1; j++) scores[g * len + j] = scale * dot(q, qh, k + 4L * rowOf[j], headDim);
                }
            }
        }
        if (softcap > 0) Tanh.cap(scores, 0, heads * len, 1f, softcap);
        for (int g = 0; g < heads; g++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int j = g * len, end = j + len; j < end; j++) max = Math.max(max, scores[j]);
            float inv = 1f / expInPlace(scores, g * len, len, max);
            Arrays.fill(out, qOff + g * headDim, qOff + (g + 1) * headDim, 0f);
            // the probabilities are scaled here so the sum over blocks needs no final pass
            for (int j = g * len, end = j + len; j < end; j++) scores[j] *= inv;
        }
        for (int j0 = 0; j0 < len; j0 += bs) {
            int j1 = Math.min(len, j0 + bs);
            for (int g = 0; g < heads; g++) {
                long v = values + bytes * ((long) (g / group) * bs * headDim);
                if (half) HalfRows.addWeighted(scores, g * len, rowOf, j0, j1, v, headDim, acc, g * headDim);
                else if (f8 != null) Fp8Rows.addWeighted(f8, scores, g * len, rowOf, j0, j1, v, headDim, acc, g * headDim);
                else addWeighted(scores, g * len, rowOf, j0, j1, v, headDim, out, qOff + g * headDim);
            }
        }
        if (half) {
            for (int g = 0; g < heads; g++) HalfRows.unpermute(acc, g * headDim, out, qOff + g * headDim, headDim);
        } else if (f8 != null) {
            for (int g = 0; g < heads; g++) Fp8Rows.unpermute(acc, g * headDim, out, qOff + g * headDim, headDim);
        }
    }

    /** {@code q[qOff..qOff+n)} dotted with the n floats at absolute address {@code k}. */
    private static float dot(float[] q, int qOff, long k, int n) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int i = 0;
        for (int bound = n - n % (2 * L); i < bound; i += 2 * L) {
            s0 = FloatVector.fromArray(F, q, qOff + i)
                    .fma(FloatVector.fromMemorySegment(F, seg, k + 4L * i, NATIVE), s0);
            s1 = FloatVector.fromArray(F, q, qOff + i + L)
                    .fma(FloatVector.fromMemorySegment(F, seg, k + 4L * (i + L), NATIVE), s1);
        }
        for (int bound = n - n % L; i < bound; i += L) {
            s0 = FloatVector.fromArray(F, q, qOff + i)
                    .fma(FloatVector.fromMemorySegment(F, seg, k + 4L * i, NATIVE), s0);
        }
        float s = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += q[qOff + i] * seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, k + 4L * i);
        return s;
    }

    /** {@code s[j] = exp(s[j] - max)} for j in [off, off + n), vectorized ({@link Exp}); returns the sum. */
    private static float expInPlace(float[] s, int off, int n, float max) {
        final var F = Simd.F;
        final int L = Simd.L;
        int bound = off + n - n % L;
        // sub(max), not sub of a vector made before the loop: such an argument, where C2 inlined late, left the
        // call to Java, boxing every vector (2 of 6 `bench decode --batches 32` JVMs: 2.4 MB a step).
        for (int j = off; j < bound; j += L) FloatVector.fromArray(F, s, j).sub(max).intoArray(s, j);
        for (int j = bound; j < off + n; j++) s[j] -= max;
        Exp.inPlace(s, off, off + n);
        FloatVector acc = FloatVector.zero(F);
        for (int j = off; j < bound; j += L) acc = FloatVector.fromArray(F, s, j).add(acc);
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (int j = bound; j < off + n; j++) sum += s[j];
        return sum;
    }

    /**
     * {@code out[d] += sum_j p[pOff + j] * V[rowOf[j] + d]} over positions j0..j1-1 (one block). The
     * block's sum is accumulated in registers, up to four vectors of the head at a time, and added to
     * out once.
     */
    private static void addWeighted(float[] p, int pOff, int[] rowOf, int j0, int j1, long v, int headDim,
            float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final int L = Simd.L;
        int d = 0;
        for (; d + 4 * L <= headDim; d += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = j0; j < j1; j++) {
                FloatVector pj = FloatVector.broadcast(F, p[pOff + j]);
                long r = v + 4L * (rowOf[j] + d);
                a0 = FloatVector.fromMemorySegment(F, seg, r, NATIVE).fma(pj, a0);
                a1 = FloatVector.fromMemorySegment(F, seg, r + 4L * L, NATIVE).fma(pj, a1);
                a2 = FloatVector.fromMemorySegment(F, seg, r + 8L * L, NATIVE).fma(pj, a2);
                a3 = FloatVector.fromMemorySegment(F, seg, r + 12L * L, NATIVE).fma(pj, a3);
            }
            int o = outOff + d;
            a0.add(FloatVector.fromArray(F, out, o)).intoArray(out, o);
            a1.add(FloatVector.fromArray(F, out, o + L)).intoArray(out, o + L);
            a2.add(FloatVector.fromArray(F, out, o + 2 * L)).intoArray(out, o + 2 * L);
            a3.add(FloatVector.fromArray(F, out, o + 3 * L)).intoArray(out, o + 3 * L);
        }
        for (; d + L <= headDim; d += L) {
            FloatVector a0 = FloatVector.zero(F);
            for (int j = j0; j < j1; j++) {
                a0 = FloatVector.fromMemorySegment(F, seg, v + 4L * (rowOf[j] + d), NATIVE)
                        .fma(FloatVector.broadcast(F, p[pOff + j]), a0);
            }
            a0.add(FloatVector.fromArray(F, out, outOff + d)).intoArray(out, outOff + d);
        }
        // Heads narrower than a vector (or their tail): scalar, one output element at a time.
        for (int e = d; e < headDim; e++) {
            float acc = 0;
            for (int j = j0; j < j1; j++) {
                acc += p[pOff + j] * seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, v + 4L * (rowOf[j] + e));
            }
            out[outOff + e] += acc;
        }
    }
}
