package io.quire.model;

import io.quire.model.gguf.GgufMetadata;

/**
 * What a decoder architecture does beyond plain Llama, read from the GGUF keys llama.cpp writes
 * for it (its {@code src/llama-arch.cpp} names them; its {@code src/llama-model.cpp} sets the
 * defaults copied here). With every feature off the model is Llama / Qwen2.
 *
 * @param qkNorm          RMSNorm on each Q and K head before RoPE ({@code attn_q_norm}, {@code attn_k_norm}):
 *                        qwen3, gemma3
 * @param postNorms       RMSNorm of the attention and FFN outputs before the residual ({@code attn_post_norm},
 *                        {@code ffn_post_norm}): gemma2, gemma3
 * @param fusedQkv        one {@code attn_qkv} matrix (Q, K, V rows in that order): phi3
 * @param fusedGateUp     {@code ffn_up} holds the gate rows then the up rows, no {@code ffn_gate}: phi3
 * @param gelu            GeGLU (tanh-approximated GELU) instead of SwiGLU: gemma
 * @param embeddingScale  token embeddings are multiplied by this (gemma: sqrt(dim))
 * @param attnScale       the factor on q·k (1/sqrt(headDim), or gemma's query_pre_attn_scalar)
 * @param attnSoftcap     attention scores become {@code cap * tanh(s / cap)}; 0 for none (gemma2)
 * @param finalSoftcap    logits become {@code cap * tanh(l / cap)}; 0 for none (gemma2)
 * @param slidingWindow   a sliding layer attends to its last this many positions (itself included); 0: none
 * @param slidingPattern  with a window, layer l slides unless {@code l % pattern == pattern - 1}
 *                        (llama.cpp's swa pattern); 0: every layer slides (Mistral)
 * @param ropeThetaLocal  RoPE base of the sliding layers (gemma3's {@code rope.freq_base_swa}), without scaling
 * @param ropeAttnFactor  cos and sin are multiplied by this (phi3's long-RoPE {@code rope.scaling.attn_factor})
 * @param expertCount     experts per MoE layer (0: a dense FFN)
 * @param expertsUsed     experts each token is routed to (top-k)
 * @param expertFfnDim    hidden size of one expert
 */
public record ArchitectureFeatures(
        boolean qkNorm,
        boolean postNorms,
        boolean fusedQkv,
        boolean fusedGateUp,
        boolean gelu,
        float embeddingScale,
        float attnScale,
        float attnSoftcap,
        float finalSoftcap,
        int slidingWindow,
        int slidingPattern,
        float ropeThetaLocal,
        float ropeAttnFactor,
        int expertCount,
        int expertsUsed,
        int expertFfnDim) {

    /** Plain Llama / Qwen2 with head size {@code headDim}. */
    public static ArchitectureFeatures plain(int headDim) {
        return new ArchitectureFeatures(false, false, false, false, false, 1f, (float) (1 / Math.sqrt(headDim)), 0f,
                0f, 0, 0, 10000f, 1f, 0, 0, 0);
    }

    /** Whether layer {@code layer} attends only to a window of recent positions. */
    public boolean slides(int layer) {
        return slidingWindow > 0 && (slidingPattern == 0 || layer % slidingPattern < slidingPattern - 1);
    }

    /** Whether every layer slides, so KV blocks that fall out of the window can be freed (Mistral). */
    public boolean allLayersSlide() {
        return slidingWindow > 0 && slidingPattern == 0;
    }

    public boolean isMoe() { return expertCount > 0; }

    /**
     * The features of {@code arch} from its metadata. Defaults follow llama.cpp where a key is
     * optional (gemma2's window of 4096 and pattern 2, gemma3's pattern 6 and local base 10000).
     */
    static ArchitectureFeatures read(GgufMetadata md, String arch, int dim, int numHeads, int headDim, int numLayers,
            int ffnDim) {
        int window = md.getInt(arch + ".attention.sliding_window", 0);
        if (window < 0) throw new ModelLoadException(arch + ".attention.sliding_window is " + window);
        float scale = (float) (1 / Math.sqrt(headDim));
        int experts = md.getInt(arch + ".expert_count", 0);
        int used = md.getInt(arch + ".expert_used_count", 0);
        int expertFfn = experts == 0 ? 0 : md.getInt(arch + ".expert_feed_forward_length", ffnDim);
        if (experts < 0 || (experts > 0 && (used <= 0 || used > experts))) {
            throw new ModelLoadException(arch + ".expert_used_count " + used + " must be 1.." + experts
                    + " (" + arch + ".expert_count)");
        }
        return switch (arch) {
            // llama with a window is Mistral (every layer slides); with experts it is Mixtral.
            case "llama" -> new ArchitectureFeatures(false, false, false, false, false, 1f, scale, 0f, 0f, window, 0,
                    10000f, 1f, experts, used, expertFfn);
            // llama.cpp's qwen2 has no sliding window either (Qwen2's use_sliding_window is off in practice).
            case "qwen2" -> plain(headDim);
            case "qwen3", "qwen3moe" -> new ArchitectureFeatures(true, false, false, false, false, 1f, scale, 0f, 0f,
                    0, 0, 10000f, 1f, experts, used, expertFfn);
            // llama.cpp ignores phi3's sliding_window (its "Phi SWA is currently disabled"); so does Quire.
            case "phi3" -> new ArchitectureFeatures(false, false, true, true, false, 1f, scale, 0f, 0f, 0, 0, 10000f,
                    md.getFloat(arch + ".rope.scaling.attn_factor", 1f), 0, 0, 0);
            case "gemma2", "gemma3" -> {
                boolean two = arch.equals("gemma2");
                // Gemma's 27B models scale queries by 1/sqrt(dim / heads), the others by 1/sqrt(headDim).
                boolean is27b = numLayers == (two ? 46 : 62);
                float gemmaScale = is27b ? (float) (1 / Math.sqrt((double) dim / numHeads)) : scale;
                int gemmaWindow = two ? md.getInt(arch + ".attention.sliding_window", 4096) : window;
                int pattern = md.getInt(arch + ".attention.sliding_window_pattern", two ? 2 : 6);
                float baseTheta = md.getFloat(arch + ".rope.freq_base", 10000f);
                float local = md.getFloat(arch + ".rope.freq_base_swa", two ? baseTheta : 10000f);
                yield new ArchitectureFeatures(!two, true, false, false, true, (float) Math.sqrt(dim), gemmaScale,
                        two ? md.getFloat(arch + ".attn_logit_softcapping", 50f) : 0f,
                        md.getFloat(arch + ".final_logit_softcapping", two ? 30f : 0f),
                        gemmaWindow, pattern, local, 1f, 0, 0, 0);
            }
            default -> throw new ModelLoadException("unsupported model architecture '" + arch + "'");
        };
    }
}
