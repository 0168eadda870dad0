package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.model.gguf.GgufFile;

/**
 * Where {@link LlamaWeights} gets its tensors, asked for by their GGUF names ({@code blk.0.attn_q.weight}):
 * a GGUF file, or a Hugging Face checkpoint that translates the names ({@link HfTensorNames}).
 */
interface TensorSource {
    boolean hasTensor(String name);

    /** The tensor stored under {@code name}, its shape innermost dimension first. */
    Tensor tensor(String name);

    /**
     * Whether experts come as one tensor each ({@code blk.N.ffn_gate.E.weight}, transformers'
     * layout) instead of stacked ({@code blk.N.ffn_gate_exps.weight}, GGUF's).
     */
    default boolean expertsSeparate() { return false; }

    /** Added to every RMSNorm weight ({@code *norm.weight}) read: 1 for Gemma in transformers' layout. */
    default float normShift() { return 0f; }

    /** How an error names the tensor: the name the user's file would use. */
    default String describe(String name) { return name; }

    static TensorSource of(GgufFile f) {
        return new TensorSource() {
            @Override public boolean hasTensor(String name) { return f.hasTensor(name); }
            @Override public Tensor tensor(String name) { return f.tensor(name); }
        };
    }
}
