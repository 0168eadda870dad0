package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.backend.cpu.Quant;
import io.quire.model.safetensors.SafetensorsException;
import io.quire.model.safetensors.SafetensorsFile;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A LoRA adapter as PEFT saves it ({@code adapter_config.json} and {@code adapter_model.safetensors}
 * in a folder), the form vLLM's {@code --lora-modules} loads: each adapted projection {@code W} of the
 * base model computes {@code W x + scale * B (A x)}, with {@code scale = lora_alpha / r}
 * ({@code lora_alpha / sqrt(r)} under rsLoRA). Adapters target the attention and MLP projections of
 * a layer ({@code q_proj}, {@code k_proj}, {@code v_proj}, {@code o_proj}, {@code gate_proj},
 * {@code up_proj}, {@code down_proj}; Phi-3's fused {@code qkv_proj} and {@code gate_up_proj});
 * what PEFT can save beyond that (DoRA, LoRA biases, embedding or LM-head adapters,
 * {@code modules_to_save}, experts of a mixture) is refused at load, naming it, rather than
 * applied halfway.
 *
 * <p>PEFT's {@code B} of {@code q_proj} and {@code k_proj} is in transformers' rotate-half order; on a
 * base whose RoPE pairs are interleaved (a llama GGUF, which llama.cpp's converter permuted so) its
 * rows are permuted the same way, as llama.cpp's {@code convert_lora_to_gguf.py} does.
 */
public final class LoraAdapter {
    /** The projections of a layer an adapter may update. */
    public enum Module { Q, K, V, O, GATE, UP, DOWN }

    /**
     * One projection's update: {@code y += scale * B (A x)} with {@code a} = A ({@code [rank][in]}) and
     * {@code bt} = B transposed ({@code [rank][out]}), both row-major.
     */
    public record Update(int rank, int in, int out, float[] a, float[] bt, float scale) {}

    static final String CONFIG = "adapter_config.json";
    static final String WEIGHTS = "adapter_model.safetensors";
    private static final Pattern NAME = Pattern.compile(
            "(?:base_model\\.model\\.)?(?:model\\.)?layers\\.(\\d+)\\.(?:self_attn|mlp)\\."
                    + "(q_proj|k_proj|v_proj|o_proj|qkv_proj|gate_proj|up_proj|down_proj|gate_up_proj)"
                    + "\\.lora_([AB])(?:\\.default)?\\.weight");

    private static final Set<String> MLP = Set.of("gate_proj", "up_proj", "down_proj", "gate_up_proj");

    private final String name;
    private final Path path;
    private final Update[][] updates;  // [layer][module], null where not adapted
    private final int maxRank;

    private LoraAdapter(String name, Path path, Update[][] updates, int maxRank) {
        this.name = name;
        this.path = path;
        this.updates = updates;
        this.maxRank = maxRank;
    }

    /** The name clients send as {@code model} to use this adapter. */
    public String name() { return name; }

    /** The folder it was loaded from. */
    public Path path() { return path; }

    /** The largest rank of its updates. */
    public int maxRank() { return maxRank; }

    /** The update of {@code module} in {@code layer}, or null where this adapter leaves it as it is. */
    public Update update(int layer, Module module) { return updates[layer][module.ordinal()]; }

    /**
     * Loads the adapter in folder {@code dir} for a base model of config {@code c}.
     *
     * @throws ModelLoadException when the folder is not a LoRA adapter Quire can apply to that model, naming why
     */
    public static LoraAdapter load(String name, Path dir, ModelConfig c) {
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new ModelLoadException("LoRA adapter " + name + ": no " + CONFIG + " in " + dir);
        }
        Path weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(weights)) {
            throw new ModelLoadException("LoRA adapter " + name + ": no " + WEIGHTS + " in " + dir
                    + (Files.exists(dir.resolve("adapter_model.bin"))
                            ? " (adapter_model.bin is a Python pickle, which Quire does not read)" : ""));
        }
        JsonNode config;
        try {
            config = JsonMapper.builder().build().readTree(Files.readString(configFile));
        } catch (IOException | JacksonException e) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + configFile + " is not readable JSON: "
                    + e.getMessage());
        }
        float alpha = checkConfig(name, config);
        boolean rsLora = config.path("use_rslora").asBoolean(false);
        Update[][] updates = new Update[c.numLayers()][Module.values().length];
        int maxRank = 0;
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            for (String tensor : f.entries().keySet()) {
                Matcher m = NAME.matcher(tensor);
                if (!m.matches()) {
                    throw new ModelLoadException("LoRA adapter " + name + ": tensor " + tensor + " is not one Quire"
                            + " applies (it adapts the attention and MLP projections of the layers, nothing else)");
                }
                if (!m.group(3).equals("A")) continue;
                int layer = Integer.parseInt(m.group(1));
                String module = m.group(2);
                String bName = tensor.substring(0, m.start(3)) + "B" + tensor.substring(m.end(3));
                if (layer >= c.numLayers()) {
                    throw new ModelLoadException("LoRA adapter " + name + ": tensor " + tensor + " is for layer "
                            + layer + ", but the model has " + c.numLayers());
                }
                if (!f.has(bName)) throw new ModelLoadException("LoRA adapter " + name + ": " + bName + " is missing");
                if (c.features().isMoe() && MLP.contains(module)) {
                    throw new ModelLoadException("LoRA adapter " + name + ": " + tensor + " adapts the feed-forward of"
                            + " a mixture of experts, which Quire does not apply adapters to");
                }
                maxRank = Math.max(maxRank, add(name, updates[layer], module, f.tensor(tensor), f.tensor(bName),
                        alpha, rsLora, c));
            }
            for (String tensor : f.entries().keySet()) {
                Matcher m = NAME.matcher(tensor);
                if (m.matches() && m.group(3).equals("B")
                        && !f.has(tensor.substring(0, m.start(3)) + "A" + tensor.substring(m.end(3)))) {
                    throw new ModelLoadException("LoRA adapter " + name + ": " + tensor + " has no lora_A beside it");
                }
            }
        } catch (IOException | SafetensorsException e) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + weights + " is not readable: "
                    + e.getMessage());
        }
        if (maxRank == 0) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + weights + " holds no LoRA tensors");
        }
        return new LoraAdapter(name, dir, updates, maxRank);
    }

    /** Refuses what Quire does not apply; returns lora_alpha. */
    private static float checkConfig(String name, JsonNode config) {
        String type = config.path("peft_type").asString("LORA");
        if (!type.equalsIgnoreCase("LORA")) refuse(name, "peft_type " + type + " (only LORA is applied)");
        if (config.path("use_dora").asBoolean(false)) refuse(name, "use_dora (DoRA is not applied)");
        String bias = config.path("bias").asString("none");
        if (!bias.equals("none")) refuse(name, "bias \"" + bias + "\" (LoRA biases are not applied)");
        if (config.path("fan_in_fan_out").asBoolean(false)) {
            refuse(name, "fan_in_fan_out (Conv1D layouts are not applied)");
        }
        JsonNode save = config.path("modules_to_save");
        if (save.isArray() && !save.isEmpty()) {
            refuse(name, "modules_to_save " + save + " (full copies of modules are not applied)");
        }
        JsonNode alphas = config.path("alpha_pattern");
        if (alphas.isObject() && !alphas.isEmpty()) refuse(name, "alpha_pattern (per-module alphas are not applied)");
        JsonNode alpha = config.path("lora_alpha");
        if (!alpha.isNumber() || alpha.floatValue() <= 0) {
            refuse(name, "lora_alpha " + alpha + " (a positive number is needed)");
        }
        return alpha.floatValue();
    }

    private static void refuse(String name, String what) {
        throw new ModelLoadException("LoRA adapter " + name + ": " + CONFIG + " sets " + what);
    }

    /** Adds the update of one PEFT module (split into Quire's projections if fused); returns its rank. */
    private static int add(String name, Update[] layer, String module, Tensor aTensor, Tensor bTensor, float alpha,
            boolean rsLora, ModelConfig c) {
        int rank = aTensor.rows(), in = aTensor.cols();
        if (bTensor.cols() != rank || aTensor.shape().length != 2 || bTensor.shape().length != 2) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + aTensor.name() + " and " + bTensor.name()
                    + " are not [r, in] and [out, r] matrices of one rank r");
        }
        float scale = rsLora ? (float) (alpha / Math.sqrt(rank)) : alpha / rank;
        float[] a = Quant.dequantize(aTensor), b = Quant.dequantize(bTensor);
        int dim = c.dim(), q = c.qDim(), kv = c.kvDim(), ffn = c.ffnDim();
        // {module, first row of B, rows, input width} of each projection this PEFT module updates
        int[][] parts = switch (module) {
            case "q_proj" -> new int[][] {{Module.Q.ordinal(), 0, q, dim}};
            case "k_proj" -> new int[][] {{Module.K.ordinal(), 0, kv, dim}};
            case "v_proj" -> new int[][] {{Module.V.ordinal(), 0, kv, dim}};
            case "o_proj" -> new int[][] {{Module.O.ordinal(), 0, dim, q}};
            case "gate_proj" -> new int[][] {{Module.GATE.ordinal(), 0, ffn, dim}};
            case "up_proj" -> new int[][] {{Module.UP.ordinal(), 0, ffn, dim}};
            case "down_proj" -> new int[][] {{Module.DOWN.ordinal(), 0, dim, ffn}};
            case "qkv_proj" -> new int[][] {{Module.Q.ordinal(), 0, q, dim}, {Module.K.ordinal(), q, kv, dim},
                    {Module.V.ordinal(), q + kv, kv, dim}};
            case "gate_up_proj" -> new int[][] {{Module.GATE.ordinal(), 0, ffn, dim},
                    {Module.UP.ordinal(), ffn, ffn, dim}};
            default -> throw new IllegalStateException(module);
        };
        int[] lastPart = parts[parts.length - 1];
        int rows = lastPart[1] + lastPart[2];
        if (in != parts[0][3] || bTensor.rows() != rows) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + module + " adapts a " + in + " -> "
                    + bTensor.rows() + " projection where the model's is " + parts[0][3] + " -> " + rows
                    + " (an adapter for another model?)");
        }
        for (int[] part : parts) {
            Module m = Module.values()[part[0]];
            if (layer[part[0]] != null) {
                throw new ModelLoadException("LoRA adapter " + name + ": " + m.name().toLowerCase()
                        + " is adapted twice in one layer");
            }
            layer[part[0]] = update(m, a, b, part[1], part[2], rank, in, scale, c);
        }
        return rank;
    }

    /** B's rows {@code from .. from+out-1} with A, as {@code module}'s update. */
    private static Update update(Module module, float[] a, float[] b, int from, int out, int rank, int in, float scale,
            ModelConfig c) {
        // Interleaved RoPE pairs (a llama GGUF): row 2i+j of a head is rotate-half row j*hd/2+i.
        boolean permute = !c.ropeNeox() && (module == Module.Q || module == Module.K);
        int hd = c.headDim();
        float[] bt = new float[rank * out];
        for (int o = 0; o < out; o++) {
            int src = o;
            if (permute) {
                int within = o % hd;
                src = o - within + (within % 2) * (hd / 2) + within / 2;
            }
            for (int k = 0; k < rank; k++) bt[k * out + o] = b[(from + src) * rank + k];
        }
        return new Update(rank, in, out, a, bt, scale);
    }
}
