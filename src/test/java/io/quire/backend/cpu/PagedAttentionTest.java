package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PagedAttentionTest {
    private final Random random = new Random(1234);
    /** The cache type of the test running: each test runs for an F32, an F16 and both FP8 caches. */
    private TensorType type = TensorType.F32;

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    /** Sequences with their full K/V kept densely ([position][kvHead][headDim]) next to the paged copy. */
    private final class Fixture {
        final PagedKvCache cache;
        final int numKvHeads;
        final int headDim;
        final int layer = 1;
        final int[][] tables;
        final float[][] denseK;
        final float[][] denseV;

        Fixture(int blockSize, int numKvHeads, int headDim, int[] lengths) {
            this.numKvHeads = numKvHeads;
            this.headDim = headDim;
            int kvDim = numKvHeads * headDim;
            int totalBlocks = 0;
            for (int len : lengths) totalBlocks += (len + blockSize - 1) / blockSize;
            int numBlocks = totalBlocks + 3;  // spare blocks stay filled with garbage nobody may read
            cache = new PagedKvCache(new KvCacheSpec(blockSize, 2, numKvHeads, headDim, type), numBlocks, 0);
            List<Integer> free = new ArrayList<>();
            for (int b = 0; b < numBlocks; b++) free.add(b);
            Collections.shuffle(free, random);  // non-contiguous, interleaved between sequences
            for (int l = 0; l < 2; l++) {
                MemorySegment k = cache.keys(l), v = cache.values(l);
                Fp8 fp8 = Fp8.of(type);
                if (type == TensorType.F16) {
                    for (long i = 0; i < k.byteSize() / 2; i++) {
                        k.setAtIndex(ValueLayout.JAVA_SHORT, i, PagedKvCache.toHalf(1e3f));
                        v.setAtIndex(ValueLayout.JAVA_SHORT, i, PagedKvCache.toHalf(-1e3f));
                    }
                } else if (fp8 != null) {
                    for (long i = 0; i < k.byteSize(); i++) {
                        k.set(ValueLayout.JAVA_BYTE, i, fp8.encode(1e3f));
                        v.set(ValueLayout.JAVA_BYTE, i, fp8.encode(-1e3f));
                    }
                } else {
                    for (long i = 0; i < k.byteSize() / 4; i++) {
                        k.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1e3f);
                        v.setAtIndex(ValueLayout.JAVA_FLOAT, i, -1e3f);
                    }
                }
            }
            tables = new int[lengths.length][];
            denseK = new float[lengths.length][];
            denseV = new float[lengths.length][];
            int next = 0;
            for (int s = 0; s < lengths.length; s++) {
                int len = lengths[s];
                tables[s] = new int[(len + blockSize - 1) / blockSize];
                for (int b = 0; b < tables[s].length; b++) tables[s][b] = free.get(next++);
                denseK[s] = randomValues(len * kvDim);
                denseV[s] = randomValues(len * kvDim);
                int[] slots = new int[len];
                for (int j = 0; j < len; j++) slots[j] = tables[s][j / blockSize] * blockSize + j % blockSize;
                cache.write(layer, slots, denseK[s], denseV[s], len);
                Fp8 fp8 = Fp8.of(type);
                if (type == TensorType.F16) {
                    // the reference attends over what the cache holds
                    for (int i = 0; i < denseK[s].length; i++) {
                        denseK[s][i] = Float.float16ToFloat(PagedKvCache.toHalf(denseK[s][i]));
                        denseV[s][i] = Float.float16ToFloat(PagedKvCache.toHalf(denseV[s][i]));
                    }
                } else if (fp8 != null) {
                    for (int i = 0; i < denseK[s].length; i++) {
                        denseK[s][i] = fp8.decode(fp8.encode(denseK[s][i]));
                        denseV[s][i] = fp8.decode(fp8.encode(denseV[s][i]));
                    }
                }
            }
        }
    }

    private float[] randomValues(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }

    /** Plain causal attention over the dense copy, in double precision. */
    private static double[] dense(Fixture f, float[] q, int numTokens, int[] positions, int[] tokenSeq, int numHeads,
            float scale) {
        return dense(f, q, numTokens, positions, tokenSeq, numHeads, scale, 0, 0f);
    }

    /** The same, over the last {@code window} positions when positive, scores soft-capped when {@code softcap > 0}. */
    private static double[] dense(Fixture f, float[] q, int numTokens, int[] positions, int[] tokenSeq, int numHeads,
            float scale, int window, float softcap) {
        int hd = f.headDim;
        int kvDim = f.numKvHeads * hd;
        int group = numHeads / f.numKvHeads;
        double[] out = new double[numTokens * numHeads * hd];
        for (int t = 0; t < numTokens; t++) {
            float[] k = f.denseK[tokenSeq[t]];
            float[] v = f.denseV[tokenSeq[t]];
            for (int h = 0; h < numHeads; h++) {
                int kvh = h / group;
                int len = positions[t] + 1;
                int first = window > 0 ? Math.max(0, len - window) : 0;
                double[] s = new double[len];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = first; j < len; j++) {
                    double dot = 0;
                    for (int d = 0; d < hd; d++)
                        dot += (double) q[(t * numHeads + h) * hd + d] * k[j * kvDim + kvh * hd + d];
                    s[j] = scale * dot;
                    if (softcap > 0) s[j] = softcap * Math.tanh(s[j] / softcap);
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = first; j < len; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
                for (int j = first; j < len; j++) {
                    for (int d = 0; d < hd; d++)
                        out[(t * numHeads + h) * hd + d] += s[j] / sum * v[j * kvDim + kvh * hd + d];
                }
            }
        }
        return out;
    }

    private void check(int blockSize, int numHeads, int numKvHeads, int headDim, int[] lengths, int[] positions,
            int[] tokenSeq) {
        check(blockSize, numHeads, numKvHeads, headDim, lengths, positions, tokenSeq, 0, 0f);
    }

    private void check(int blockSize, int numHeads, int numKvHeads, int headDim, int[] lengths, int[] positions,
            int[] tokenSeq, int window, float softcap) {
        Fixture f = new Fixture(blockSize, numKvHeads, headDim, lengths);
        int numTokens = positions.length;
        float[] q = randomValues(numTokens * numHeads * headDim);
        float scale = (float) (1 / Math.sqrt(headDim));
        double[] expected = dense(f, q, numTokens, positions, tokenSeq, numHeads, scale, window, softcap);
        float[] out = new float[q.length];
        java.util.Arrays.fill(out, Float.NaN); // every element must be written
        PagedAttention.attend(q, out, numTokens, positions, tokenSeq, f.tables, f.cache, f.layer, numHeads, scale,
                window, softcap);
        double maxAbs = 0;
        for (double e : expected) maxAbs = Math.max(maxAbs, Math.abs(e));
        for (int i = 0; i < out.length; i++) {
            assertThat(Math.abs(out[i] - expected[i]))
                    .as("%s bs %d heads %d/%d index %d", type, blockSize, numHeads, numKvHeads, i)
                    .isLessThanOrEqualTo(1e-5 * Math.max(Math.abs(expected[i]), maxAbs));
        }
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "F16", "F8_E4M3", "F8_E5M2"})
    void decodeStyleOneTokenPerSequence(TensorType type) {
        this.type = type;
        for (int bs : new int[] {1, 16, 32}) {
            int[] lengths = {1, 15, 16, 17, 33, 70};
            int[] positions = new int[lengths.length];
            int[] seqs = new int[lengths.length];
            for (int s = 0; s < lengths.length; s++) { positions[s] = lengths[s] - 1; seqs[s] = s; }
            check(bs, 8, 2, 64, lengths, positions, seqs);   // GQA
            check(bs, 4, 4, 32, lengths, positions, seqs);   // MHA
            check(bs, 8, 4, 8, lengths, positions, seqs);    // tiny heads (stories260K-like)
            check(bs, 16, 1, 16, lengths, positions, seqs);  // a group that fills a vector: tiles of one token
            check(bs, 20, 1, 8, lengths, positions, seqs);   // a group wider than a vector
        }
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "F16", "F8_E4M3", "F8_E5M2"})
    void prefillStyleConsecutivePositionsAreCausal(TensorType type) {
        this.type = type;
        for (int bs : new int[] {1, 16, 32}) {
            int len = 45;
            int[] positions = new int[len];
            int[] seqs = new int[len];
            for (int t = 0; t < len; t++) positions[t] = t;
            check(bs, 8, 2, 64, new int[] {len}, positions, seqs);
            check(bs, 6, 6, 16, new int[] {len}, positions, seqs);
        }
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "F16", "F8_E4M3", "F8_E5M2"})
    void promptTilesOfEveryShape(TensorType type) {
        this.type = type;
        // Runs of consecutive positions go through AttentionTile: full and partial tiles, row counts that
        // are not multiples of four, heads wider than a vector but not a multiple of it, tiny heads.
        for (int bs : new int[] {1, 16}) {
            for (int len : new int[] {4, 9, 13, 33}) {
                int[] positions = new int[len];
                int[] seqs = new int[len];
                for (int t = 0; t < len; t++) positions[t] = t;
                check(bs, 4, 2, 24, new int[] {len}, positions, seqs);
                check(bs, 3, 1, 40, new int[] {len}, positions, seqs);
                check(bs, 8, 4, 8, new int[] {len}, positions, seqs);
                check(bs, 2, 2, 80, new int[] {len}, positions, seqs);
                check(bs, 20, 1, 8, new int[] {len}, positions, seqs);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "F16", "F8_E4M3", "F8_E5M2"})
    void slidingWindowAndSoftcapInTilesAndTokens(TensorType type) {
        this.type = type;
        for (int bs : new int[] {1, 16}) {
            // one sequence prefills a later chunk (positions 30..69), another decodes at position 60
            int[] lengths = {70, 61};
            List<Integer> pos = new ArrayList<>();
            List<Integer> seq = new ArrayList<>();
            for (int p = 30; p < 70; p++) { pos.add(p); seq.add(0); }
            pos.add(60); seq.add(1);
            int[] positions = pos.stream().mapToInt(Integer::intValue).toArray();
            int[] seqs = seq.stream().mapToInt(Integer::intValue).toArray();
            for (int window : new int[] {0, 1, 7, 20}) {
                check(bs, 8, 2, 64, lengths, positions, seqs, window, 0f);
                check(bs, 4, 4, 32, lengths, positions, seqs, window, 5f);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "F16", "F8_E4M3", "F8_E5M2"})
    void aPromptsResultDoesNotDependOnHowItIsChunked(TensorType type) {
        this.type = type;
        Fixture f = new Fixture(16, 2, 64, new int[] {120});
        float[] q = randomValues(120 * 8 * 64);
        int qDim = 8 * 64;
        float[] whole = new float[q.length];
        float[] chunked = new float[q.length];
        // As in oneAndTwoThreadsAgreeExactly: the claim is about compiled kernels, so repeat until C2 has them.
        long deadline = System.nanoTime() + 60_000_000_000L;
        do {
            attendRange(f, q, whole, 0, 120, qDim);
            attendRange(f, q, chunked, 0, 37, qDim);
            attendRange(f, q, chunked, 37, 90, qDim);
            attendRange(f, q, chunked, 90, 120, qDim);
        } while (!java.util.Arrays.equals(whole, chunked) && System.nanoTime() < deadline);
        assertThat(chunked).containsExactly(whole);
    }

    /** Positions from..to-1 of sequence 0, as one step (a prompt chunk). */
    private static void attendRange(Fixture f, float[] q, float[] out, int from, int to, int qDim) {
        int n = to - from;
        int[] positions = new int[n];
        for (int t = 0; t < n; t++) positions[t] = from + t;
        float[] qc = java.util.Arrays.copyOfRange(q, from * qDim, to * qDim);
        float[] oc = new float[qc.length];
        PagedAttention.attend(qc, oc, n, positions, new int[n], f.tables, f.cache, f.layer, 8, 0.125f);
        System.arraycopy(oc, 0, out, from * qDim, oc.length);
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "F16", "F8_E4M3", "F8_E5M2"})
    void mixedBatchOfPrefillChunkAndDecodes(TensorType type) {
        this.type = type;
        for (int bs : new int[] {1, 16, 32}) {
            // sequence 1 prefills positions 20..39 (a later chunk); sequences 0 and 2 decode one token each
            int[] lengths = {50, 40, 3};
            List<Integer> pos = new ArrayList<>();
            List<Integer> seq = new ArrayList<>();
            pos.add(49); seq.add(0);
            for (int p = 20; p < 40; p++) { pos.add(p); seq.add(1); }
            pos.add(2); seq.add(2);
            check(bs, 8, 2, 64, lengths, pos.stream().mapToInt(Integer::intValue).toArray(),
                    seq.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "F16", "F8_E4M3", "F8_E5M2"})
    void manyDecodeTokensReadEveryKvHeadOfABlockInTurn(TensorType type) {
        // Enough tokens that each takes all its KV heads in one unit (no head ranges).
        this.type = type;
        int[] lengths = new int[40];
        int[] positions = new int[lengths.length];
        int[] seqs = new int[lengths.length];
        for (int s = 0; s < lengths.length; s++) {
            lengths[s] = 1 + (s * 37) % 90;
            positions[s] = lengths[s] - 1;
            seqs[s] = s;
        }
        check(16, 8, 2, 64, lengths, positions, seqs);   // GQA
        check(16, 6, 6, 32, lengths, positions, seqs);   // MHA
    }

    @ParameterizedTest
    @EnumSource(value = TensorType.class, names = {"F32", "F16", "F8_E4M3", "F8_E5M2"})
    void oneAndTwoThreadsAgreeExactly(TensorType type) {
        this.type = type;
        Fixture f = new Fixture(16, 2, 64, new int[] {400, 210});  // long enough to run in parallel
        int[] positions = {399, 209, 100};
        int[] seqs = {0, 1, 1};
        float[] q = randomValues(3 * 8 * 64);
        float[] one = new float[q.length];
        float[] two = new float[q.length];
        // Until C2 has compiled the kernels, the Vector API's Java code runs, and its reduceLanes(ADD) and
        // EXP round differently from C2's intrinsics (docs/performance.md, "Determinism and the JIT"); a
        // helper thread may reach a kernel through another, not yet compiled, path than the caller. So the
        // claim is about compiled kernels: repeated, the two thread counts must come to agree bit for bit
        // (with a real dependence on the thread count they never would).
        long deadline = System.nanoTime() + 60_000_000_000L;
        do {
            Parallel.setThreads(1);
            PagedAttention.attend(q, one, 3, positions, seqs, f.tables, f.cache, f.layer, 8, 0.125f);
            Parallel.setThreads(2);
            PagedAttention.attend(q, two, 3, positions, seqs, f.tables, f.cache, f.layer, 8, 0.125f);
        } while (!java.util.Arrays.equals(one, two) && System.nanoTime() < deadline);
        assertThat(two).containsExactly(one);
    }

    @Test
    void decodeTokensReadWholeBlocksOnOneThreadAndShareFewUnitsOnMore() {
        int[] oneToken = {0, 1};             // tile 0: token 0; one tile in all
        int[] threeTokens = {0, 1, 2, 3};    // three tiles of one token each
        assertThat(PagedAttention.parts(oneToken, 1, 1, 1, 12)).isEqualTo(1);
        assertThat(PagedAttention.parts(oneToken, 1, 1, 2, 12)).isEqualTo(4);
        assertThat(PagedAttention.parts(oneToken, 1, 1, 2, 2)).isEqualTo(2);   // no more parts than KV heads
        assertThat(PagedAttention.parts(threeTokens, 3, 1, 2, 12)).isEqualTo(2);
        assertThat(PagedAttention.parts(threeTokens, 3, 1, 1, 12)).isEqualTo(1);
        // A prompt tile (here 16 tokens of one head each) keeps its finer split, heads being its units anyway.
        int[] promptTile = {0, Simd.L};
        assertThat(PagedAttention.parts(promptTile, 1, 1, 2, 12)).isEqualTo(12);
        assertThat(PagedAttention.parts(promptTile, 1, 1, 1, 12)).isEqualTo(8);
    }

    @Test
    void rejectsPositionsBeyondTheBlockTable() {
        Fixture f = new Fixture(16, 2, 8, new int[] {16});
        assertThatThrownBy(() -> PagedAttention.attend(new float[32], new float[32], 1, new int[] {16}, new int[] {0},
                f.tables, f.cache, f.layer, 4, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 2 blocks");
    }
}
