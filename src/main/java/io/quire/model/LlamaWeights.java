package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.Q4_KTiles;
import io.quire.backend.cpu.Quant;
import io.quire.model.gguf.GgufFile;

/**
 * The weights of a Llama-family decoder as llama.cpp names them in GGUF: llama (Mistral, Mixtral),
 * qwen2, qwen3, qwen3moe, phi3, gemma2, gemma3. Which optional tensors a layer has is decided by
 * the config's {@link ArchitectureFeatures}, so a file lacking one is refused naming it. Matrices
 * stay in their stored type over the file mapping (fused ones are split into row views); the small
 * vectors (norms, biases, RoPE frequency factors) are converted to float arrays once.
 */
record LlamaWeights(
        Tensor tokenEmbedding,
        Layer[] layers,
        float[] outputNorm,
        Tensor output,
        RopeFactors ropeFactors) {

    /**
     * One block. Optional parts are null when the architecture lacks them: biases (qwen2), per-head
     * Q/K norms (qwen3, gemma3), post-norms (gemma), and either the dense FFN or the experts.
     */
    record Layer(float[] attnNorm, Tensor wq, Tensor wk, Tensor wv, float[] bq, float[] bk, float[] bv,
                 float[] qNorm, float[] kNorm, Tensor wo, float[] attnPostNorm,
                 float[] ffnNorm, Tensor wGate, Tensor wUp, Tensor wDown, ExpertWeights experts,
                 float[] ffnPostNorm) {}

    static LlamaWeights from(GgufFile f, ModelConfig c) {
        return from(TensorSource.of(f), c, ropeFactors(f, c));
    }

    /** The weights from any source; {@code ropeFactors} null for none. */
    static LlamaWeights from(TensorSource f, ModelConfig c, RopeFactors ropeFactors) {
        ArchitectureFeatures a = c.features();
        int dim = c.dim();
        Tensor emb = ModelLoader.weight(f, "token_embd.weight", dim, c.vocabSize());
        Layer[] layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "blk." + i + ".";
            Tensor wq, wk, wv;
            if (a.fusedQkv()) {
                Tensor qkv = ModelLoader.weight(f, p + "attn_qkv.weight", dim, c.qDim() + 2L * c.kvDim());
                wq = rows(qkv, 0, c.qDim(), dim);
                wk = rows(qkv, c.qDim(), c.kvDim(), dim);
                wv = rows(qkv, c.qDim() + c.kvDim(), c.kvDim(), dim);
            } else {
                wq = ModelLoader.weight(f, p + "attn_q.weight", dim, c.qDim());
                wk = ModelLoader.weight(f, p + "attn_k.weight", dim, c.kvDim());
                wv = ModelLoader.weight(f, p + "attn_v.weight", dim, c.kvDim());
            }
            Tensor gate = null, up = null, down = null;
            ExpertWeights experts = null;
            if (a.isMoe()) {
                experts = ExpertWeights.from(f, p, c);
            } else if (a.fusedGateUp()) {
                Tensor gateUp = ModelLoader.weight(f, p + "ffn_up.weight", dim, 2L * c.ffnDim());
                gate = rows(gateUp, 0, c.ffnDim(), dim);
                up = rows(gateUp, c.ffnDim(), c.ffnDim(), dim);
            } else {
                gate = ModelLoader.weight(f, p + "ffn_gate.weight", dim, c.ffnDim());
                up = ModelLoader.weight(f, p + "ffn_up.weight", dim, c.ffnDim());
            }
            if (!a.isMoe()) down = ModelLoader.weight(f, p + "ffn_down.weight", c.ffnDim(), dim);
            layers[i] = new Layer(
                    vector(f, p + "attn_norm.weight", dim),
                    wq, wk, wv,
                    c.qkvBias() ? vector(f, p + "attn_q.bias", c.qDim()) : null,
                    c.qkvBias() ? vector(f, p + "attn_k.bias", c.kvDim()) : null,
                    c.qkvBias() ? vector(f, p + "attn_v.bias", c.kvDim()) : null,
                    a.qkNorm() ? vector(f, p + "attn_q_norm.weight", c.headDim()) : null,
                    a.qkNorm() ? vector(f, p + "attn_k_norm.weight", c.headDim()) : null,
                    ModelLoader.weight(f, p + "attn_output.weight", c.qDim(), dim),
                    a.postNorms() ? vector(f, p + "post_attention_norm.weight", dim) : null,
                    vector(f, p + "ffn_norm.weight", dim),
                    gate, up, down, experts,
                    a.postNorms() ? vector(f, p + "post_ffw_norm.weight", dim) : null);
        }
        float[] outNorm = vector(f, "output_norm.weight", dim);
        // Tied embeddings: models without output.weight reuse the token embedding as the LM head.
        Tensor output = f.hasTensor("output.weight") ? ModelLoader.weight(f, "output.weight", dim, c.vocabSize()) : emb;
        return new LlamaWeights(emb, layers, outNorm, output, ropeFactors);
    }

    /**
     * Per-pair RoPE frequency divisors: Llama 3's {@code rope_freqs}, or phi3's long-RoPE factors:
     * short inside the trained context, long beyond it ({@link RopeFactors} says why).
     */
    private static RopeFactors ropeFactors(GgufFile f, ModelConfig c) {
        int half = c.headDim() / 2;
        TensorSource s = TensorSource.of(f);
        if (f.hasTensor("rope_freqs.weight")) return RopeFactors.of(vector(s, "rope_freqs.weight", half));
        if (!f.hasTensor("rope_factors_short.weight")) return null;
        float[] shortFactors = vector(s, "rope_factors_short.weight", half);
        int trained = f.metadata().getInt(c.architecture() + ".rope.scaling.original_context_length",
                c.contextLength());
        if (c.contextLength() <= trained || !f.hasTensor("rope_factors_long.weight")) {
            return RopeFactors.of(shortFactors);
        }
        return new RopeFactors(shortFactors, vector(s, "rope_factors_long.weight", half), trained);
    }

    /** Rows {@code from .. from+count-1} of a matrix (or of a stack of them) as a matrix of its own. */
    static Tensor rows(Tensor t, long from, int count, int cols) {
        if (t.type().isRepacked() && (from % Q4_KTiles.ROWS != 0 || count % Q4_KTiles.ROWS != 0)) {
            // Its rows come in tiles of 32: a slice must start and end on a tile (the loader repacks no other).
            throw new ModelLoadException("tensor " + t.name() + ": rows " + from + ".." + (from + count)
                    + " cut through its repacked tiles of " + Q4_KTiles.ROWS + " rows");
        }
        long rowBytes = t.type().bytesFor(cols);
        return new Tensor(t.name() + "[" + from + ":" + (from + count) + "]", t.type(), new long[] {cols, count},
                t.data().asSlice(from * rowBytes, count * rowBytes));
    }

    private static float[] vector(TensorSource f, String name, int n) {
        float[] v = Quant.dequantize(ModelLoader.weight(f, name, n));
        float shift = f.normShift();
        if (shift != 0 && name.endsWith("norm.weight")) for (int i = 0; i < v.length; i++) v[i] += shift;
        return v;
    }
}
