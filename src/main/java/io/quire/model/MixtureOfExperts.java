package io.quire.model;

import io.quire.backend.cpu.MatMul;

import java.util.Arrays;

/**
 * A mixture-of-experts FFN (Mixtral, Qwen3-MoE), as llama.cpp's {@code build_moe_ffn} with softmax
 * gating: the router's logits are softmaxed over all experts, each token takes its top-k, and their
 * probabilities are renormalised to sum to 1 (both models' {@code norm_topk_prob}). Each expert then
 * runs once, as one batched product over just the tokens routed to it; its output is added to those
 * tokens' rows weighted by their routing weight.
 */
final class MixtureOfExperts {
    private final ModelConfig c;
    private final int numExperts, topK, hidden;
    private final long[] tokensRouted; // per expert, over all layers and steps so far

    // Grow-only scratch: forward() is called by one thread at a time.
    private int capacity;
    private float[] logits, weights, xs, gate, up, ys;
    private int[] chosen, routed;

    MixtureOfExperts(ModelConfig c) {
        this.c = c;
        this.numExperts = c.features().expertCount();
        this.topK = c.features().expertsUsed();
        this.hidden = c.features().expertFfnDim();
        this.tokensRouted = new long[numExperts];
    }

    /** Tokens each expert has computed so far, summed over layers (what routing did: for tests). */
    long[] tokensRouted() { return tokensRouted.clone(); }

    void forward(ExpertWeights w, float[] x, int n, float[] out) {
        int dim = c.dim();
        ensureCapacity(n);
        MatMul.matmul(w.router(), x, n, logits);
        for (int t = 0; t < n; t++) route(t);
        Arrays.fill(out, 0, n * dim, 0f);
        for (int e = 0; e < numExperts; e++) {
            int m = 0;
            for (int t = 0; t < n; t++) {
                for (int j = 0; j < topK; j++) {
                    if (chosen[t * topK + j] != e) continue;
                    System.arraycopy(x, t * dim, xs, m * dim, dim);
                    routed[m++] = t * topK + j;
                }
            }
            tokensRouted[e] += m;
            if (m == 0) continue;  // no token chose this expert: it costs nothing this step
            FeedForward.swiglu(c, w.gate()[e], w.up()[e], w.down()[e], xs, m, gate, up, ys, null, -1);
            for (int i = 0; i < m; i++) {
                int t = routed[i] / topK;
                float p = weights[routed[i]];
                for (int d = 0; d < dim; d++) out[t * dim + d] += p * ys[i * dim + d];
            }
        }
    }

    /** Softmax over token t's router logits, then its top-k experts and their renormalised weights. */
    private void route(int t) {
        int off = t * numExperts;
        float max = Float.NEGATIVE_INFINITY;
        for (int e = 0; e < numExperts; e++) max = Math.max(max, logits[off + e]);
        float sum = 0;
        for (int e = 0; e < numExperts; e++) sum += logits[off + e] = (float) Math.exp(logits[off + e] - max);
        for (int e = 0; e < numExperts; e++) logits[off + e] /= sum;
        float chosenSum = 0;
        for (int j = 0; j < topK; j++) {
            int best = -1;
            for (int e = 0; e < numExperts; e++) {
                if (logits[off + e] >= 0 && (best < 0 || logits[off + e] > logits[off + best])) best = e;
            }
            chosen[t * topK + j] = best;
            weights[t * topK + j] = logits[off + best];
            chosenSum += logits[off + best];
            logits[off + best] = -1;  // taken
        }
        for (int j = 0; j < topK; j++) weights[t * topK + j] /= chosenSum;
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        int cap = Math.max(n, capacity * 2);
        logits = new float[cap * numExperts];
        weights = new float[cap * topK];
        chosen = new int[cap * topK];
        routed = new int[cap * topK];
        xs = new float[cap * topK * c.dim()];
        ys = new float[cap * topK * c.dim()];
        gate = new float[cap * topK * hidden];
        up = new float[cap * topK * hidden];
        capacity = cap;
    }
}
