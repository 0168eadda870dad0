package io.quire.model;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A LoRA adapter as PEFT saves it ({@link PeftAdapterFolder}), the form vLLM's {@code --lora-modules} loads, or as
 * llama.cpp's {@code convert_lora_to_gguf.py} writes it ({@link GgufAdapterFile}): each adapted projection {@code W}
 * of the base model computes {@code W x + scale * B (A x)}, with {@code scale = lora_alpha / r} ({@code lora_alpha /
 * sqrt(r)} under rsLoRA). Adapters target the attention and MLP projections of a layer ({@code q_proj}, {@code
 * k_proj}, {@code v_proj}, {@code o_proj}, {@code gate_proj}, {@code up_proj}, {@code down_proj}; Phi-3's fused
 * {@code qkv_proj} and {@code gate_up_proj}); what an adapter can hold beyond that (DoRA, LoRA biases, embedding or
 * LM-head adapters, {@code modules_to_save}, experts of a mixture) is refused at load, naming it, rather than applied
 * halfway.
 *
 * <p>The {@code B} rows of {@code q_proj} and {@code k_proj} are in transformers' rotate-half order in a PEFT adapter
 * and in interleaved RoPE pairs in a llama GGUF adapter (the converter permuted them as it permutes the model's);
 * they are put in the base's order at load (interleaved for a llama GGUF model, rotate-half for a Hugging Face
 * folder; {@link LoraUpdates}).
 */
public final class LoraAdapter {
    /** The projections of a layer an adapter may update. */
    public enum Module { Q, K, V, O, GATE, UP, DOWN }

    /**
     * One projection's update: {@code y += scale * B (A x)} with {@code a} = A ({@code [rank][in]}) and
     * {@code bt} = B transposed ({@code [rank][out]}), both row-major.
     */
    public record Update(int rank, int in, int out, float[] a, float[] bt, float scale) {}

    private final String name;
    private final Path path;
    private final Update[][] updates;  // [layer][module], null where not adapted
    private final int maxRank;

    LoraAdapter(String name, Path path, Update[][] updates, int maxRank) {
        this.name = name;
        this.path = path;
        this.updates = updates;
        this.maxRank = maxRank;
    }

    /** The name clients send as {@code model} to use this adapter. */
    public String name() { return name; }

    /** The folder or file it was loaded from. */
    public Path path() { return path; }

    /** The largest rank of its updates. */
    public int maxRank() { return maxRank; }

    /** The update of {@code module} in {@code layer}, or null where this adapter leaves it as it is. */
    public Update update(int layer, Module module) { return updates[layer][module.ordinal()]; }

    /**
     * Loads the adapter at {@code path} for a base model of config {@code c}: a PEFT folder, or a GGUF
     * file as llama.cpp's {@code convert_lora_to_gguf.py} writes one.
     *
     * @throws ModelLoadException when it is not a LoRA adapter Quire can apply to that model, naming why
     */
    public static LoraAdapter load(String name, Path path, ModelConfig c) {
        return Files.isRegularFile(path) ? GgufAdapterFile.load(name, path, c) : PeftAdapterFolder.load(name, path, c);
    }
}
