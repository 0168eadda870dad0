package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.backend.cpu.MatMul;
import io.quire.backend.cpu.Ops;
import io.quire.backend.cpu.PagedAttention;
import io.quire.backend.cpu.PagedKvCache;
import io.quire.backend.cpu.Parallel;
import io.quire.backend.cpu.Rope;

/**
 * The attention half of a decoder layer on the CPU, for one flat batch: Q/K/V projections (with
 * qwen2's biases), per-head Q/K RMSNorm (qwen3, gemma3), RoPE (a sliding layer may have its own
 * base: gemma3), the K/V write into the paged cache, paged attention (over the layer's window if it
 * slides, soft-capped for gemma2) and the output projection.
 */
final class Attention {
    private final ModelConfig c;
    private final ArchitectureFeatures a;
    private final Rope rope;
    private final Rope localRope;

    // Grow-only scratch: forward() is called by one thread at a time.
    private int capacity;
    private float[] q, k, v, attn;

    Attention(ModelConfig c, RopeFactors rf) {
        this.c = c;
        this.a = c.features();
        float[] ropeFactors = rf == null ? null : rf.factors();
        this.rope = rf == null || rf.longFactors() == null
                ? new Rope(c.headDim(), c.contextLength(), c.ropeTheta(), c.ropeScaleLinear(), ropeFactors,
                        c.ropeNeox(), a.ropeAttnFactor())
                : new Rope(c.headDim(), c.contextLength(), c.ropeTheta(), c.ropeScaleLinear(), ropeFactors,
                        rf.longFactors(), rf.longFrom(), c.ropeNeox(), a.ropeAttnFactor());
        // Gemma 3's local layers use their own base and no scaling (llama.cpp's rope_freq_base_train_swa).
        boolean ownLocal = a.slidingWindow() > 0 && (a.ropeThetaLocal() != c.ropeTheta() || c.ropeScaleLinear() != 1f);
        this.localRope = ownLocal ? new Rope(c.headDim(), c.contextLength(), a.ropeThetaLocal(), 1f, ropeFactors,
                c.ropeNeox(), a.ropeAttnFactor()) : rope;
    }

    /**
     * Attention of layer {@code layer} over the normed input {@code xb} ({@code [n][dim]}), projected into
     * out; with {@code lora} (null: none), the tokens' adapters update the four projections.
     */
    void forward(LlamaWeights.Layer w, int layer, float[] xb, ForwardBatch batch, int[] tokenSeq, PagedKvCache cache,
            float[] out, LoraDeltas lora) {
        int n = batch.numTokens();
        ensureCapacity(n);
        MatMul.matmul(new Tensor[] {w.wq(), w.wk(), w.wv()}, xb, n, new float[][] {q, k, v});
        if (lora != null) {
            lora.add(layer, LoraAdapter.Module.Q, xb, q);
            lora.add(layer, LoraAdapter.Module.K, xb, k);
            lora.add(layer, LoraAdapter.Module.V, xb, v);
        }
        if (w.bq() != null) {
            Ops.addBias(q, n, c.qDim(), w.bq());
            Ops.addBias(k, n, c.kvDim(), w.bk());
            Ops.addBias(v, n, c.kvDim(), w.bv());
        }
        if (w.qNorm() != null) {
            headNorm(q, n * c.numHeads(), w.qNorm());
            headNorm(k, n * c.numKvHeads(), w.kNorm());
        }
        boolean slides = a.slides(layer);
        Rope r = slides ? localRope : rope;
        int[] positions = batch.positions();
        Parallel.forRange(n, (from, to) -> {
            for (int t = from; t < to; t++) {
                r.apply(q, t * c.qDim(), c.numHeads(), positions[t]);
                r.apply(k, t * c.kvDim(), c.numKvHeads(), positions[t]);
            }
        });
        cache.write(layer, batch.slotMapping(), k, v, n);
        PagedAttention.attend(q, attn, n, positions, tokenSeq, batch.blockTables(), cache, layer, c.numHeads(),
                a.attnScale(), slides ? a.slidingWindow() : 0, a.attnSoftcap());
        MatMul.matmul(w.wo(), attn, n, out);
        if (lora != null) lora.add(layer, LoraAdapter.Module.O, attn, out);
    }

    /** RMSNorm of each of the {@code heads} consecutive heads in x with the per-head weight. */
    private void headNorm(float[] x, int heads, float[] weight) {
        int hd = c.headDim();
        for (int h = 0; h < heads; h++) Ops.rmsNorm(x, h * hd, x, h * hd, weight, hd, c.rmsNormEps());
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        // To the next 64 tokens, not doubled: a call holds at most one part of a step (LlamaModel.CHUNK
        // tokens), and doubling kept up to twice the largest activations alive for the server's life.
        int cap = (n + 63) & ~63;
        q = new float[cap * c.qDim()];
        k = new float[cap * c.kvDim()];
        v = new float[cap * c.kvDim()];
        attn = new float[cap * c.qDim()];
        capacity = cap;
    }
}
