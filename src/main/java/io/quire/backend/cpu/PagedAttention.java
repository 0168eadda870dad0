package io.quire.backend.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * Attention that reads keys and values through block tables (vLLM's paged_attention): position j
 * of a sequence lives at slot {@code table[j / blockSize] * blockSize + j % blockSize}, so a
 * sequence's KV never needs to be contiguous. Causal: a token sees positions 0..its own.
 */
public final class PagedAttention {
    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[256]);

    private PagedAttention() {}

    /**
     * For each token t and head h: {@code out[t][h] = softmax_j(scale * q[t][h]·K[j]) · V[j]} over
     * positions {@code j = 0..positions[t]} of sequence {@code tokenSeq[t]}, whose block table is
     * {@code blockTables[tokenSeq[t]]}. q and out are {@code [numTokens][numHeads * headDim]}; head h
     * reads KV head {@code h / (numHeads / numKvHeads)}.
     */
    public static void attend(float[] q, float[] out, int numTokens, int[] positions, int[] tokenSeq, int[][] blockTables,
                              PagedKvCache cache, int layer, int numHeads, float scale) {
        int headDim = cache.headDim();
        int numKvHeads = cache.numKvHeads();
        int bs = cache.blockSize();
        if (numHeads <= 0 || numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("numHeads " + numHeads + " must be a positive multiple of numKvHeads " + numKvHeads);
        }
        if (layer < 0 || layer >= cache.numLayers()) throw new IllegalArgumentException("layer " + layer + " outside 0.." + (cache.numLayers() - 1));
        long qDim = (long) numHeads * headDim;
        if (q.length < numTokens * qDim || out.length < numTokens * qDim) {
            throw new IllegalArgumentException("q/out hold " + q.length + "/" + out.length + " floats, need " + numTokens * qDim);
        }
        for (int t = 0; t < numTokens; t++) {
            int seq = tokenSeq[t];
            if (seq < 0 || seq >= blockTables.length || blockTables[seq] == null) throw new IllegalArgumentException("token " + t + " names sequence " + seq + " without a block table");
            int pos = positions[t];
            if (pos < 0) throw new IllegalArgumentException("token " + t + " has negative position " + pos);
            int[] table = blockTables[seq];
            if ((long) table.length * bs <= pos) {
                throw new IllegalArgumentException("token " + t + " at position " + pos + " needs " + (pos / bs + 1) + " blocks, its sequence's table has " + table.length);
            }
            for (int j = 0; j <= pos / bs; j++) {
                if (table[j] < 0 || table[j] >= cache.numBlocks()) throw new IllegalArgumentException("block table of sequence " + seq + " names block " + table[j] + " outside the cache of " + cache.numBlocks());
            }
        }
        float[] keys = cache.keys(layer);
        float[] values = cache.values(layer);
        int group = numHeads / numKvHeads;
        int kvDim = numKvHeads * headDim;
        long work = 0;
        for (int t = 0; t < numTokens; t++) work += 2L * (positions[t] + 1) * qDim;
        Parallel.forRange(numTokens * numHeads, work, (from, to) -> {
            for (int th = from; th < to; th++) {
                int t = th / numHeads;
                int h = th % numHeads;
                int[] table = blockTables[tokenSeq[t]];
                int len = positions[t] + 1;
                int qOff = t * numHeads * headDim + h * headDim;
                int kvOff = (h / group) * headDim;
                float[] scores = scores(len);
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < len; j++) {
                    int slot = table[j / bs] * bs + j % bs;
                    float s = scale * MatMul.dotDense(q, qOff, keys, slot * kvDim + kvOff, headDim);
                    scores[j] = s;
                    if (s > max) max = s;
                }
                float sum = 0;
                for (int j = 0; j < len; j++) {
                    float e = (float) Math.exp(scores[j] - max);
                    scores[j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                java.util.Arrays.fill(out, qOff, qOff + headDim, 0f);
                for (int j = 0; j < len; j++) {
                    int slot = table[j / bs] * bs + j % bs;
                    axpy(scores[j] * inv, values, slot * kvDim + kvOff, out, qOff, headDim);
                }
            }
        });
    }

    /** y += a * x over n values. */
    private static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        final var F = Simd.F;
        final int L = Simd.L;
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            FloatVector.fromArray(F, x, xOff + i).fma(FloatVector.broadcast(F, a), FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * x[xOff + i];
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
