package io.quire.model;

import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;

/**
 * Hyperparameters of a decoder-only transformer, all read from GGUF metadata (or chosen for a
 * random model).
 *
 * @param architecture  GGUF {@code general.architecture}: {@code llama} or {@code qwen2}
 * @param headDim       per-head size of Q/K/V ({@code dim / numHeads} unless the file says otherwise)
 * @param ropeNeox      true for NEOX-style RoPE (rotate halves: qwen2), false for interleaved pairs (llama)
 * @param ropeScaleLinear linear RoPE scaling factor (positions divided by it); 1 for none
 * @param qkvBias       Q/K/V projections have biases (qwen2)
 * @param features      what the architecture adds to Llama: norms, windows, soft-capping, experts
 */
public record ModelConfig(
        String architecture,
        int dim,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int ffnDim,
        int vocabSize,
        int contextLength,
        float rmsNormEps,
        float ropeTheta,
        float ropeScaleLinear,
        boolean ropeNeox,
        boolean qkvBias,
        ArchitectureFeatures features) {

    /** A Llama / Qwen2 config without further features. */
    public ModelConfig(String architecture, int dim, int numLayers, int numHeads, int numKvHeads, int headDim,
            int ffnDim, int vocabSize, int contextLength, float rmsNormEps, float ropeTheta, float ropeScaleLinear,
            boolean ropeNeox, boolean qkvBias) {
        this(architecture, dim, numLayers, numHeads, numKvHeads, headDim, ffnDim, vocabSize, contextLength,
                rmsNormEps, ropeTheta, ropeScaleLinear, ropeNeox, qkvBias, ArchitectureFeatures.plain(headDim));
    }

    /** The same config with other features (random models of the newer architectures). */
    public ModelConfig withFeatures(String arch, boolean neox, ArchitectureFeatures f) {
        return new ModelConfig(arch, dim, numLayers, numHeads, numKvHeads, headDim, ffnDim, vocabSize, contextLength,
                rmsNormEps, ropeTheta, ropeScaleLinear, neox, qkvBias, f);
    }

    public int kvDim() { return numKvHeads * headDim; }

    public int qDim() { return numHeads * headDim; }

    /** A KV block of {@code blockSize} tokens of this model's layers and KV heads, stored in {@code type}. */
    public KvCacheSpec kvCacheSpec(int blockSize, TensorType type) {
        return new KvCacheSpec(blockSize, numLayers, numKvHeads, headDim, type);
    }

    /** Parameters in the weights (embeddings and output counted once each; every expert counted). */
    public long parameterCount(boolean tiedOutput) {
        long attn = (long) dim * qDim() + 2L * dim * kvDim() + (long) qDim() * dim;
        ArchitectureFeatures f = features;
        long ffn = f.isMoe() ? (long) f.expertCount() * (3L * dim * f.expertFfnDim() + dim) : 3L * dim * ffnDim;
        long norms = 2L * dim + (f.qkNorm() ? 2L * headDim : 0) + (f.postNorms() ? 2L * dim : 0);
        long perLayer = attn + ffn + norms + (qkvBias ? qDim() + 2L * kvDim() : 0);
        long emb = (long) vocabSize * dim;
        return numLayers * perLayer + emb + (tiedOutput ? 0 : emb) + dim;
    }

    /** A Llama-style config (interleaved RoPE, no biases) of the given shape, as random models use. */
    public static ModelConfig llama(int dim, int numLayers, int numHeads, int numKvHeads, int ffnDim, int vocabSize,
                                    int contextLength) {
        return new ModelConfig("llama", dim, numLayers, numHeads, numKvHeads, dim / numHeads, ffnDim, vocabSize,
                contextLength, 1e-5f, 10000f, 1f, false, false);
    }
}
