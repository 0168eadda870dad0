package io.quire.model;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The transformers name of each tensor {@link LlamaWeights} asks for by its GGUF name, as
 * llama.cpp's {@code gguf-py/gguf/tensor_mapping.py} pairs them. Where the families differ, the
 * config decides: Mixtral's router and experts ({@code block_sparse_moe.gate},
 * {@code experts.E.w1/w3/w2}) against Qwen3-MoE's ({@code mlp.gate},
 * {@code mlp.experts.E.gate_proj/up_proj/down_proj}); Phi-3's fused {@code qkv_proj} and
 * {@code gate_up_proj}; Gemma's four norms a layer.
 */
final class HfTensorNames {
    private static final Pattern BLOCK = Pattern.compile("blk\\.(\\d+)\\.(\\w+)\\.(weight|bias)");
    /** One expert's matrix, as {@link ExpertWeights} asks for it from a checkpoint that keeps them apart. */
    private static final Pattern EXPERT = Pattern.compile("blk\\.(\\d+)\\.ffn_(gate|up|down)\\.(\\d+)\\.weight");

    private HfTensorNames() {}

    /** The transformers name for {@code gguf} in a model of config {@code c}, or null for one transformers lacks. */
    static String of(String gguf, ModelConfig c) {
        boolean mixtral = c.architecture().equals("llama") && c.features().isMoe();
        boolean gemma = c.features().postNorms();
        Matcher e = EXPERT.matcher(gguf);
        if (e.matches()) {
            String part = mixtral ? "block_sparse_moe.experts." + e.group(3) + "." + switch (e.group(2)) {
                case "gate" -> "w1";
                case "up" -> "w3";
                default -> "w2";
            } : "mlp.experts." + e.group(3) + "." + e.group(2) + "_proj";
            return "model.layers." + e.group(1) + "." + part + ".weight";
        }
        switch (gguf) {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
            default: break;
        }
        Matcher m = BLOCK.matcher(gguf);
        if (!m.matches()) return null;
        String part = switch (m.group(2)) {
            case "attn_norm" -> "input_layernorm";
            case "attn_q" -> "self_attn.q_proj";
            case "attn_k" -> "self_attn.k_proj";
            case "attn_v" -> "self_attn.v_proj";
            case "attn_qkv" -> "self_attn.qkv_proj";
            case "attn_output" -> "self_attn.o_proj";
            case "attn_q_norm" -> "self_attn.q_norm";
            case "attn_k_norm" -> "self_attn.k_norm";
            // Gemma 2/3 name their four norms apart: post_attention_layernorm follows attention there.
            case "ffn_norm" -> gemma ? "pre_feedforward_layernorm" : "post_attention_layernorm";
            case "post_attention_norm" -> "post_attention_layernorm";
            case "post_ffw_norm" -> "post_feedforward_layernorm";
            case "ffn_gate" -> "mlp.gate_proj";
            case "ffn_up" -> c.features().fusedGateUp() ? "mlp.gate_up_proj" : "mlp.up_proj";
            case "ffn_down" -> "mlp.down_proj";
            case "ffn_gate_inp" -> mixtral ? "block_sparse_moe.gate" : "mlp.gate";
            default -> null;
        };
        return part == null ? null : "model.layers." + m.group(1) + "." + part + "." + m.group(3);
    }
}
