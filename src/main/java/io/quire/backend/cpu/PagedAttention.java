package io.quire.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Attention that reads keys and values through block tables (vLLM's paged_attention): position j
 * of a sequence lives at slot {@code table[j / blockSize] * blockSize + j % blockSize}, so a
 * sequence's KV never needs to be contiguous. Causal: a token sees positions 0..its own, or with a
 * sliding window W only the last W of them ({@code pos-W+1..pos}, llama.cpp's standard SWA); block
 * table entries before the window are not read (they may be freed, -1).
 */
public final class PagedAttention {
    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[256]);
    private static final ThreadLocal<int[]> OFFSETS = ThreadLocal.withInitial(() -> new int[256]);

    private PagedAttention() {}

    /**
     * For each token t and head h: {@code out[t][h] = softmax_j(scale * q[t][h]·K[j]) · V[j]} over
     * positions {@code j = 0..positions[t]} of sequence {@code tokenSeq[t]}, whose block table is
     * {@code blockTables[tokenSeq[t]]}. q and out are {@code [numTokens][numHeads * headDim]}; head h
     * reads KV head {@code h / (numHeads / numKvHeads)}.
     */
    public static void attend(float[] q, float[] out, int numTokens, int[] positions, int[] tokenSeq,
            int[][] blockTables,
                              PagedKvCache cache, int layer, int numHeads, float scale) {
        attend(q, out, numTokens, positions, tokenSeq, blockTables, cache, layer, numHeads, scale, 0, 0f);
    }

    /**
     * As above, attending only to the last {@code window} positions when it is positive, and
     * soft-capping the scaled scores to {@code softcap * tanh(s / softcap)} when that is positive
     * (Gemma 2).
     */
    public static void attend(float[] q, float[] out, int numTokens, int[] positions, int[] tokenSeq,
            int[][] blockTables, PagedKvCache cache, int layer, int numHeads, float scale, int window, float softcap) {
        int headDim = cache.headDim();
        int numKvHeads = cache.numKvHeads();
        int bs = cache.blockSize();
        if (numHeads <= 0 || numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("numHeads " + numHeads + " must be a positive multiple of numKvHeads "
                    + numKvHeads);
        }
        if (layer < 0 || layer >= cache.numLayers()) throw new IllegalArgumentException("layer " + layer
                + " outside 0.." + (cache.numLayers() - 1));
        long qDim = (long) numHeads * headDim;
        if (q.length < numTokens * qDim || out.length < numTokens * qDim) {
            throw new IllegalArgumentException("q/out hold " + q.length + "/" + out.length + " floats, need "
                    + numTokens * qDim);
        }
        for (int t = 0; t < numTokens; t++) {
            int seq = tokenSeq[t];
            if (seq < 0 || seq >= blockTables.length || blockTables[seq] == null)
                throw new IllegalArgumentException("token " + t + " names sequence " + seq + " without a block table");
            int pos = positions[t];
            if (pos < 0) throw new IllegalArgumentException("token " + t + " has negative position " + pos);
            int[] table = blockTables[seq];
            if ((long) table.length * bs <= pos) {
                throw new IllegalArgumentException("token " + t + " at position " + pos + " needs " + (pos / bs + 1)
                        + " blocks, its sequence's table has " + table.length);
            }
            for (int j = first(pos, window) / bs; j <= pos / bs; j++) {
                if (table[j] < 0 || table[j] >= cache.numBlocks())
                    throw new IllegalArgumentException("block table of sequence " + seq + " names block " + table[j]
                            + " outside the cache of " + cache.numBlocks());
            }
        }
        // K and V are read by absolute address through Simd.ALL (as the weights are), which spares a
        // bounds and liveness check per load; the cache stays reachable to the end of this method.
        long keys = cache.keys(layer).address();
        long values = cache.values(layer).address();
        int group = numHeads / numKvHeads;
        int kvDim = numKvHeads * headDim;
        long work = 0;
        for (int t = 0; t < numTokens; t++) work += 2L * (positions[t] + 1 - first(positions[t], window)) * qDim;
        // One unit per (token, KV head): its block walk is shared by the group's query heads, and each
        // block of K (then V) is read once for all of them while it sits in L1.
        Parallel.forRange(numTokens * numKvHeads, work, (from, to) -> {
            for (int tk = from; tk < to; tk++) {
                int t = tk / numKvHeads;
                int kvHead = tk % numKvHeads;
                int[] table = blockTables[tokenSeq[t]];
                int start = first(positions[t], window);
                int len = positions[t] + 1 - start;
                int qOff = t * numHeads * headDim + kvHead * group * headDim;
                int kvOff = kvHead * headDim;
                float[] scores = scores(group * len);
                int[] rowOf = slotOffsets(len);
                // Where each position's K/V row starts (index j is position start + j), walking the table
                // block by block (no divisions); the window may start inside a block.
                for (int p = start, blk = start / bs; p < start + len; blk++) {
                    int o0 = p % bs;
                    int base = table[blk] * bs * kvDim + kvOff;
                    int n = Math.min(bs - o0, start + len - p);
                    for (int o = 0; o < n; o++) rowOf[p - start + o] = base + (o0 + o) * kvDim;
                    p += n;
                }
                for (int j0 = 0; j0 < len; j0 += bs) {
                    int j1 = Math.min(len, j0 + bs);
                    for (int g = 0; g < group; g++) {
                        int qh = qOff + g * headDim;
                        for (int j = j0; j < j1; j++) {
                            scores[g * len + j] = scale * dot(q, qh, keys + 4L * rowOf[j], headDim);
                        }
                        if (softcap > 0) {
                            for (int j = j0; j < j1; j++) {
                                scores[g * len + j] = softcap * (float) Math.tanh(scores[g * len + j] / softcap);
                            }
                        }
                    }
                }
                for (int g = 0; g < group; g++) {
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = g * len, end = j + len; j < end; j++) max = Math.max(max, scores[j]);
                    float inv = 1f / expInPlace(scores, g * len, len, max);
                    Arrays.fill(out, qOff + g * headDim, qOff + (g + 1) * headDim, 0f);
                    // the probabilities are scaled here so the sum over blocks needs no final pass
                    for (int j = g * len, end = j + len; j < end; j++) scores[j] *= inv;
                }
                for (int j0 = 0; j0 < len; j0 += bs) {
                    int j1 = Math.min(len, j0 + bs);
                    for (int g = 0; g < group; g++) {
                        addWeighted(scores, g * len, rowOf, j0, j1, values, headDim, out, qOff + g * headDim);
                    }
                }
            }
        });
        Reference.reachabilityFence(cache);
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

    /** The first position a token at {@code pos} attends to. */
    private static int first(int pos, int window) {
        return window > 0 ? Math.max(0, pos - window + 1) : 0;
    }

    /** {@code s[j] = exp(s[j] - max)} for j in [off, off + n), vectorized (the Vector API's EXP); returns the sum. */
    private static float expInPlace(float[] s, int off, int n, float max) {
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector m = FloatVector.broadcast(F, max);
        FloatVector acc = FloatVector.zero(F);
        int j = off;
        for (int bound = off + n - n % L; j < bound; j += L) {
            FloatVector e = FloatVector.fromArray(F, s, j).sub(m).lanewise(VectorOperators.EXP);
            e.intoArray(s, j);
            acc = acc.add(e);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; j < off + n; j++) {
            float e = (float) Math.exp(s[j] - max);
            s[j] = e;
            sum += e;
        }
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

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private static int[] slotOffsets(int n) {
        int[] s = OFFSETS.get();
        if (s.length < n) {
            s = new int[Math.max(n, s.length * 2)];
            OFFSETS.set(s);
        }
        return s;
    }

    private static float[] scores(int n) {
        float[] s = SCORES.get();
        if (s.length < n) {
            s = new float[Math.max(n, s.length * 2)];
            SCORES.set(s);
        }
        return s;
    }
}
