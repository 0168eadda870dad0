package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.backend.cpu.Quant;
import io.quire.model.gguf.GgufFile;

/**
 * The weights of a Llama-family decoder (llama, qwen2) as llama.cpp names them in GGUF. Matrices
 * stay in their stored type over the file mapping; the small vectors (norms, biases, RoPE
 * frequency factors) are converted to float arrays once.
 */
record LlamaWeights(
        Tensor tokenEmbedding,
        Layer[] layers,
        float[] outputNorm,
        Tensor output,
        float[] ropeFreqFactors) {

    record Layer(float[] attnNorm, Tensor wq, Tensor wk, Tensor wv, float[] bq, float[] bk, float[] bv, Tensor wo,
                 float[] ffnNorm, Tensor wGate, Tensor wUp, Tensor wDown) {}

    static LlamaWeights from(GgufFile f, ModelConfig c) {
        int dim = c.dim();
        Tensor emb = ModelLoader.weight(f, "token_embd.weight", dim, c.vocabSize());
        Layer[] layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "blk." + i + ".";
            layers[i] = new Layer(
                    vector(f, p + "attn_norm.weight", dim),
                    ModelLoader.weight(f, p + "attn_q.weight", dim, c.qDim()),
                    ModelLoader.weight(f, p + "attn_k.weight", dim, c.kvDim()),
                    ModelLoader.weight(f, p + "attn_v.weight", dim, c.kvDim()),
                    c.qkvBias() ? vector(f, p + "attn_q.bias", c.qDim()) : null,
                    c.qkvBias() ? vector(f, p + "attn_k.bias", c.kvDim()) : null,
                    c.qkvBias() ? vector(f, p + "attn_v.bias", c.kvDim()) : null,
                    ModelLoader.weight(f, p + "attn_output.weight", c.qDim(), dim),
                    vector(f, p + "ffn_norm.weight", dim),
                    ModelLoader.weight(f, p + "ffn_gate.weight", dim, c.ffnDim()),
                    ModelLoader.weight(f, p + "ffn_up.weight", dim, c.ffnDim()),
                    ModelLoader.weight(f, p + "ffn_down.weight", c.ffnDim(), dim));
        }
        float[] outNorm = vector(f, "output_norm.weight", dim);
        // Tied embeddings: models without output.weight reuse the token embedding as the LM head.
        Tensor output = f.hasTensor("output.weight") ? ModelLoader.weight(f, "output.weight", dim, c.vocabSize()) : emb;
        float[] freqFactors = f.hasTensor("rope_freqs.weight") ? vector(f, "rope_freqs.weight", c.headDim() / 2) : null;
        return new LlamaWeights(emb, layers, outNorm, output, freqFactors);
    }

    private static float[] vector(GgufFile f, String name, int n) {
        return Quant.dequantize(ModelLoader.weight(f, name, n));
    }
}
