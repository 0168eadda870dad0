package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.backend.cpu.MatMul;
import io.quire.backend.cpu.Ops;

/**
 * The gated feed-forward half of a decoder layer on the CPU: {@code down(act(gate·x) * up·x)} with
 * SwiGLU (SiLU) or GeGLU (tanh GELU, Gemma), or a {@link MixtureOfExperts} where the layer has
 * experts.
 */
final class FeedForward {
    private final ModelConfig c;
    private final MixtureOfExperts moe;

    // Grow-only scratch: forward() is called by one thread at a time.
    private int capacity;
    private float[] gate, up;

    FeedForward(ModelConfig c) {
        this.c = c;
        this.moe = c.features().isMoe() ? new MixtureOfExperts(c) : null;
    }

    /** Tokens each expert computed so far (empty for a dense FFN). */
    long[] tokensPerExpert() { return moe == null ? new long[0] : moe.tokensRouted(); }

    /** The FFN of the normed input {@code xb} ({@code [n][dim]}, at most a model part's tokens) into {@code out}. */
    void forward(LlamaWeights.Layer w, int layer, float[] xb, int n, float[] out, LoraDeltas lora) {
        if (w.experts() != null) {
            moe.forward(w.experts(), xb, n, out);
            return;
        }
        ensureCapacity(n);
        swiglu(c, w.wGate(), w.wUp(), w.wDown(), xb, n, gate, up, out, lora, layer);
    }

    /**
     * One gated FFN over n rows; gate and up are scratch of at least {@code n * hidden} floats. With
     * {@code lora} (null: none), the rows' adapters update the three projections of layer {@code layer}.
     */
    static void swiglu(ModelConfig c, Tensor wGate, Tensor wUp, Tensor wDown, float[] x, int n, float[] gate,
            float[] up, float[] out, LoraDeltas lora, int layer) {
        int hidden = wGate.rows();
        MatMul.matmul(new Tensor[] {wGate, wUp}, x, n, new float[][] {gate, up});
        if (lora != null) {
            lora.add(layer, LoraAdapter.Module.GATE, x, gate);
            lora.add(layer, LoraAdapter.Module.UP, x, up);
        }
        if (c.features().gelu()) Ops.geluMul(gate, up, n * hidden);
        else Ops.siluMul(gate, up, n * hidden);
        MatMul.matmul(wDown, gate, n, out);
        if (lora != null) lora.add(layer, LoraAdapter.Module.DOWN, gate, out);
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        int cap = (n + 63) & ~63;  // not doubled: see LlamaModel
        gate = new float[cap * c.ffnDim()];
        up = new float[cap * c.ffnDim()];
        capacity = cap;
    }
}
