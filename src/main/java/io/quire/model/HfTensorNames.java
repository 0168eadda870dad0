package io.quire.model;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The transformers name of each tensor {@link LlamaWeights} asks for by its GGUF name, as
 * llama.cpp's {@code gguf-py/gguf/tensor_mapping.py} pairs them for the Llama family.
 */
final class HfTensorNames {
    private static final Pattern BLOCK = Pattern.compile("blk\\.(\\d+)\\.(\\w+)\\.(weight|bias)");

    private HfTensorNames() {}

    /** The transformers name for {@code gguf}, or null for a tensor transformers checkpoints do not have. */
    static String of(String gguf) {
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
            case "attn_output" -> "self_attn.o_proj";
            case "attn_q_norm" -> "self_attn.q_norm";
            case "attn_k_norm" -> "self_attn.k_norm";
            case "ffn_norm" -> "post_attention_layernorm";
            case "ffn_gate" -> "mlp.gate_proj";
            case "ffn_up" -> "mlp.up_proj";
            case "ffn_down" -> "mlp.down_proj";
            default -> null;
        };
        return part == null ? null : "model.layers." + m.group(1) + "." + part + "." + m.group(3);
    }
}
