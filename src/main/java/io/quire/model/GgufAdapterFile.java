package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.model.gguf.GgufFile;
import io.quire.model.gguf.GgufFormatException;
import io.quire.model.gguf.GgufMetadata;

import java.io.IOException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A LoRA adapter as llama.cpp's {@code convert_lora_to_gguf.py} writes it: a GGUF file of
 * {@code general.type} adapter, {@code adapter.type} lora, {@code adapter.lora.alpha}, and
 * {@code blk.N.<projection>.weight.lora_a}/{@code lora_b} tensors shaped as PEFT's, q/k rows of a
 * llama adapter permuted into interleaved RoPE pairs as the converter permutes the model's.
 */
final class GgufAdapterFile {
    private GgufAdapterFile() {}

    /** llama.cpp's tensor names of the projections, and PEFT's module each is. */
    private static final Pattern GGUF_NAME = Pattern.compile(
            "blk\\.(\\d+)\\.(attn_q|attn_k|attn_v|attn_output|attn_qkv|ffn_gate|ffn_up|ffn_down)"
                    + "\\.weight\\.lora_([ab])");

    static LoraAdapter load(String name, Path file, ModelConfig c) {
        try (GgufFile f = GgufFile.open(file)) {
            GgufMetadata md = f.metadata();
            String type = md.getString("general.type", ""), adapter = md.getString("adapter.type", "");
            String arch = md.getString("general.architecture", "");
            if (!type.equals("adapter") || !adapter.equals("lora")) {
                throw new ModelLoadException("LoRA adapter " + name + ": " + file + " is a GGUF file but not a LoRA"
                        + " adapter (general.type " + type + ", adapter.type " + adapter + ")");
            }
            if (!arch.equals(c.architecture())) {
                throw new ModelLoadException("LoRA adapter " + name + ": " + file + " adapts a " + arch
                        + " model, and the served model is " + c.architecture());
            }
            if (md.contains("adapter.alora.invocation_tokens")) {
                throw new ModelLoadException("LoRA adapter " + name + ": " + file + " is an activated LoRA"
                        + " (adapter.alora.invocation_tokens), which Quire does not apply");
            }
            // llama.cpp's scale: alpha / rank, or 1 for an adapter without alpha
            float alpha = md.getFloat("adapter.lora.alpha", 0);
            LoraUpdates updates = new LoraUpdates(name, c);
            for (String tensor : f.tensorInfos().keySet()) {
                Matcher m = GGUF_NAME.matcher(tensor);
                if (!m.matches()) {
                    throw new ModelLoadException("LoRA adapter " + name + ": tensor " + tensor + " is not one Quire"
                            + " applies (it adapts the attention and feed-forward projections of the layers, nothing"
                            + " else)");
                }
                if (!m.group(3).equals("a")) continue;
                String bName = tensor.substring(0, tensor.length() - 1) + "b";
                if (!f.hasTensor(bName)) {
                    throw new ModelLoadException("LoRA adapter " + name + ": " + bName + " is missing");
                }
                String module = switch (m.group(2)) {
                    case "attn_q" -> "q_proj";
                    case "attn_k" -> "k_proj";
                    case "attn_v" -> "v_proj";
                    case "attn_output" -> "o_proj";
                    case "attn_qkv" -> "qkv_proj";
                    case "ffn_gate" -> "gate_proj";
                    case "ffn_up" -> c.features().fusedGateUp() ? "gate_up_proj" : "up_proj";
                    default -> "down_proj";
                };
                Tensor a = f.tensor(tensor);
                float scale = alpha == 0 ? 1 : alpha / a.rows();
                // llama.cpp's converter interleaved the q/k rows of its llama type only, as it did the model's
                updates.add(Integer.parseInt(m.group(1)), module, a, f.tensor(bName), scale, arch.equals("llama"));
            }
            for (String tensor : f.tensorInfos().keySet()) {
                if (tensor.endsWith(".lora_b") && !f.hasTensor(tensor.substring(0, tensor.length() - 1) + "a")) {
                    throw new ModelLoadException("LoRA adapter " + name + ": " + tensor + " has no lora_a beside it");
                }
            }
            return updates.adapter(file);
        } catch (IOException | GgufFormatException e) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + file + " is not readable: " + e.getMessage());
        }
    }
}
