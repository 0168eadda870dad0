package io.quire.model;

import io.quire.backend.KvCache;

import java.util.Arrays;

/**
 * The GPU runner's comparison workload, shared by {@link CudaLlamaModelTest} and
 * {@link EmulatedDeviceMain}: step 1 prefills three prompts (lengths 20, 37, 1) into scattered
 * blocks, the first two asking for every token's logits (prompt logprobs), step 2 decodes one token
 * each, as the engine would batch them.
 */
final class TwoStepBatch {
    private TwoStepBatch() {}

    /**
     * Step 2's logits per sequence, and on a GPU the kernel launches plus cuBLAS calls it made (else -1);
     * {@code everyToken}: step 1's logits of each token the model handed over for prompt logprobs, by token
     * index (null for the others: each prompt's last token, and the third prompt's); {@code hidden}: step
     * 2's final hidden state per sequence, as handed over for embeddings.
     */
    record Result(float[][] logits, long decodeLaunches, float[][] everyToken, float[][] hidden) {}

    static <C extends KvCache> Result run(LanguageModel<C> m) {
        int bs = 16;
        int tokenRange = m.config().vocabSize() - 10;
        int[][] tables = {{5, 2, 9}, {0, 7, 3, 11}, {4, 8}};
        C cache = m.newKvCache(12, bs);
        int[] lens = {20, 37, 1};
        int n = 20 + 37 + 1;
        int[] toks = new int[n], pos = new int[n], slots = new int[n];
        for (int s = 0, t = 0; s < 3; s++) {
            for (int p = 0; p < lens[s]; p++, t++) {
                toks[t] = 3 + (t * 37 + s) % tokenRange;
                pos[t] = p;
                slots[t] = tables[s][p / bs] * bs + p % bs;
            }
        }
        float[][] every = new float[n][];
        m.forward(new ForwardBatch(toks, pos, slots, new int[] {0, 20, 57, 58}, tables,
                new boolean[] {true, true, false}), cache, (seq, token, row) -> {
                    if (every[token] != null) throw new IllegalStateException("token " + token + " handed over twice");
                    every[token] = row.clone();
                });
        int[] dp = {20, 37, 1}, ds = new int[3];
        for (int s = 0; s < 3; s++) ds[s] = tables[s][dp[s] / bs] * bs + dp[s] % bs;
        long before = m instanceof CudaLlamaModel g ? g.device().launches() : 0;
        float[][] hidden = new float[3][];
        int dim = m.config().dim();
        float[][] out = m.forward(new ForwardBatch(new int[] {10, 20, 30}, dp, ds, new int[] {0, 1, 2, 3}, tables),
                cache, null, (s, h, offset) -> hidden[s] = Arrays.copyOfRange(h, offset, offset + dim));
        long launches = m instanceof CudaLlamaModel g ? g.device().launches() - before : -1;
        if (cache instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return new Result(out, launches, every, hidden);
    }

    /**
     * {@link #worstRelativeError} over the rows handed over for prompt logprobs; both must have handed
     * over the same tokens' rows (the 19 + 36 before each of the first two prompts' last tokens).
     */
    static double worstEveryTokenError(float[][] ref, float[][] got) {
        java.util.List<float[]> r = new java.util.ArrayList<>(), g = new java.util.ArrayList<>();
        for (int t = 0; t < ref.length; t++) {
            if ((ref[t] == null) != (got[t] == null)) throw new AssertionError("token " + t + "'s row in one only");
            if (ref[t] == null) continue;
            r.add(ref[t]);
            g.add(got[t]);
        }
        if (r.size() != 19 + 36) throw new AssertionError(r.size() + " rows handed over, expected 55");
        return worstRelativeError(r.toArray(new float[0][]), g.toArray(new float[0][]));
    }

    /** The largest, over sequences, of max |got - ref| / max |ref| within a sequence's logits. */
    static double worstRelativeError(float[][] ref, float[][] got) {
        double worst = 0;
        for (int s = 0; s < ref.length; s++) {
            double err = 0, scale = 0;
            for (int i = 0; i < ref[s].length; i++) {
                err = Math.max(err, Math.abs(ref[s][i] - got[s][i]));
                scale = Math.max(scale, Math.abs(ref[s][i]));
            }
            worst = Math.max(worst, err / scale);
        }
        return worst;
    }
}
