package io.quire.model;

import io.quire.backend.Tensor;

/**
 * One mixture-of-experts layer as llama.cpp stores it: the router {@code ffn_gate_inp}
 * ({@code [expertCount][dim]}) and each expert's SwiGLU matrices, cut out of the stacked
 * {@code ffn_{gate,up,down}_exps} tensors as views (no copy: each expert's matrix is contiguous).
 */
record ExpertWeights(Tensor router, Tensor[] gate, Tensor[] up, Tensor[] down) {

    static ExpertWeights from(TensorSource f, String prefix, ModelConfig c) {
        ArchitectureFeatures a = c.features();
        int n = a.expertCount(), hidden = a.expertFfnDim(), dim = c.dim();
        Tensor router = ModelLoader.weight(f, prefix + "ffn_gate_inp.weight", dim, n);
        if (f.expertsSeparate()) {
            // transformers stores each expert's matrices as tensors of their own: views, as the stacked ones give.
            Tensor[] g = new Tensor[n], u = new Tensor[n], d = new Tensor[n];
            for (int e = 0; e < n; e++) {
                g[e] = ModelLoader.weight(f, prefix + "ffn_gate." + e + ".weight", dim, hidden);
                u[e] = ModelLoader.weight(f, prefix + "ffn_up." + e + ".weight", dim, hidden);
                d[e] = ModelLoader.weight(f, prefix + "ffn_down." + e + ".weight", hidden, dim);
            }
            return new ExpertWeights(router, g, u, d);
        }
        if (!f.hasTensor(prefix + "ffn_gate_exps.weight") && f.hasTensor(prefix + "ffn_gate.0.weight")) {
            // llama.cpp no longer reads them either.
            throw new ModelLoadException("the model file stores its experts as separate tensors (" + prefix
                    + "ffn_gate.0.weight, the early Mixtral GGUF layout); Quire reads the stacked "
                    + prefix + "ffn_gate_exps.weight: convert the model again with a current llama.cpp");
        }
        Tensor gates = ModelLoader.weight(f, prefix + "ffn_gate_exps.weight", dim, hidden, n);
        Tensor ups = ModelLoader.weight(f, prefix + "ffn_up_exps.weight", dim, hidden, n);
        Tensor downs = ModelLoader.weight(f, prefix + "ffn_down_exps.weight", hidden, dim, n);
        Tensor[] g = new Tensor[n], u = new Tensor[n], d = new Tensor[n];
        for (int e = 0; e < n; e++) {
            g[e] = LlamaWeights.rows(gates, e * hidden, hidden, dim);
            u[e] = LlamaWeights.rows(ups, e * hidden, hidden, dim);
            d[e] = LlamaWeights.rows(downs, e * dim, dim, hidden);
        }
        return new ExpertWeights(router, g, u, d);
    }
}
