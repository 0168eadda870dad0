package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.backend.cpu.Quant;
import io.quire.model.gguf.GgufFile;
import io.quire.model.gguf.GgufFormatException;
import io.quire.model.gguf.GgufMetadata;
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
 * in a folder), the form vLLM's {@code --lora-modules} loads, or as llama.cpp's
 * {@code convert_lora_to_gguf.py} writes it (a GGUF file): each adapted projection {@code W} of the
 * base model computes {@code W x + scale * B (A x)}, with {@code scale = lora_alpha / r}
 * ({@code lora_alpha / sqrt(r)} under rsLoRA). Adapters target the attention and MLP projections of
 * a layer ({@code q_proj}, {@code k_proj}, {@code v_proj}, {@code o_proj}, {@code gate_proj},
 * {@code up_proj}, {@code down_proj}; Phi-3's fused {@code qkv_proj} and {@code gate_up_proj});
 * what an adapter can hold beyond that (DoRA, LoRA biases, embedding or LM-head adapters,
 * {@code modules_to_save}, experts of a mixture) is refused at load, naming it, rather than
 * applied halfway.
 *
 * <p>The {@code B} rows of {@code q_proj} and {@code k_proj} are in transformers' rotate-half order in
 * a PEFT adapter and in interleaved RoPE pairs in a llama GGUF adapter (the converter permuted them as
 * it permutes the model's); they are put in the base's order at load (interleaved for a llama GGUF
 * model, rotate-half for a Hugging Face folder).
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
     * Loads the adapter at {@code path} for a base model of config {@code c}: a PEFT folder, or a GGUF
     * file as llama.cpp's {@code convert_lora_to_gguf.py} writes one.
     *
     * @throws ModelLoadException when it is not a LoRA adapter Quire can apply to that model, naming why
     */
    public static LoraAdapter load(String name, Path path, ModelConfig c) {
        return Files.isRegularFile(path) ? loadGguf(name, path, c) : loadPeft(name, path, c);
    }

    private static LoraAdapter loadPeft(String name, Path dir, ModelConfig c) {
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
                Tensor a = f.tensor(tensor);
                float scale = rsLora ? (float) (alpha / Math.sqrt(a.rows())) : alpha / a.rows();
                maxRank = Math.max(maxRank, add(name, updates[layer], module, a, f.tensor(bName), scale, false, c));
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

    /** llama.cpp's tensor names of the projections, and PEFT's module each is. */
    private static final Pattern GGUF_NAME = Pattern.compile(
            "blk\\.(\\d+)\\.(attn_q|attn_k|attn_v|attn_output|attn_qkv|ffn_gate|ffn_up|ffn_down)"
                    + "\\.weight\\.lora_([ab])");

    private static LoraAdapter loadGguf(String name, Path file, ModelConfig c) {
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
            Update[][] updates = new Update[c.numLayers()][Module.values().length];
            int maxRank = 0;
            for (String tensor : f.tensorInfos().keySet()) {
                Matcher m = GGUF_NAME.matcher(tensor);
                if (!m.matches()) {
                    throw new ModelLoadException("LoRA adapter " + name + ": tensor " + tensor + " is not one Quire"
                            + " applies (it adapts the attention and feed-forward projections of the layers, nothing"
                            + " else)");
                }
                if (!m.group(3).equals("a")) continue;
                int layer = Integer.parseInt(m.group(1));
                String bName = tensor.substring(0, tensor.length() - 1) + "b";
                if (layer >= c.numLayers() || !f.hasTensor(bName)) {
                    throw new ModelLoadException("LoRA adapter " + name + ": " + (layer >= c.numLayers()
                            ? "tensor " + tensor + " is for layer " + layer + ", but the model has " + c.numLayers()
                            : bName + " is missing"));
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
                if (c.features().isMoe() && MLP.contains(module)) {
                    throw new ModelLoadException("LoRA adapter " + name + ": " + tensor + " adapts the feed-forward of"
                            + " a mixture of experts, which Quire does not apply adapters to");
                }
                Tensor a = f.tensor(tensor);
                float scale = alpha == 0 ? 1 : alpha / a.rows();
                // llama.cpp's converter interleaved the q/k rows of its llama type only, as it did the model's
                maxRank = Math.max(maxRank, add(name, updates[layer], module, a, f.tensor(bName), scale,
                        arch.equals("llama"), c));
            }
            for (String tensor : f.tensorInfos().keySet()) {
                if (tensor.endsWith(".lora_b") && !f.hasTensor(tensor.substring(0, tensor.length() - 1) + "a")) {
                    throw new ModelLoadException("LoRA adapter " + name + ": " + tensor + " has no lora_a beside it");
                }
            }
            if (maxRank == 0) {
                throw new ModelLoadException("LoRA adapter " + name + ": " + file + " holds no LoRA tensors");
            }
            return new LoraAdapter(name, file, updates, maxRank);
        } catch (IOException | GgufFormatException e) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + file + " is not readable: " + e.getMessage());
        }
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

    /**
     * Adds the update of one PEFT module (split into Quire's projections if fused), its q/k rows in
     * interleaved RoPE pairs when {@code interleaved}, else in transformers' rotate-half order, and
     * reordered to the base's; returns its rank.
     */
    private static int add(String name, Update[] layer, String module, Tensor aTensor, Tensor bTensor, float scale,
            boolean interleaved, ModelConfig c) {
        int rank = aTensor.rows(), in = aTensor.cols();
        if (bTensor.cols() != rank || aTensor.shape().length != 2 || bTensor.shape().length != 2) {
            throw new ModelLoadException("LoRA adapter " + name + ": " + aTensor.name() + " and " + bTensor.name()
                    + " are not [r, in] and [out, r] matrices of one rank r");
        }
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
            layer[part[0]] = update(m, a, b, part[1], part[2], rank, in, scale, interleaved, !c.ropeNeox(),
                    c.headDim());
        }
        return rank;
    }

    /** B's rows {@code from .. from+out-1} with A, as {@code module}'s update. */
    private static Update update(Module module, float[] a, float[] b, int from, int out, int rank, int in, float scale,
            boolean fromInterleaved, boolean toInterleaved, int hd) {
        // Interleaved RoPE pairs (a llama GGUF): row 2i+j of a head is rotate-half row j*hd/2+i.
        boolean rope = module == Module.Q || module == Module.K;
        boolean permute = rope && toInterleaved && !fromInterleaved;
        boolean unpermute = rope && fromInterleaved && !toInterleaved;
        float[] bt = new float[rank * out];
        for (int o = 0; o < out; o++) {
            int src = o;
            int within = o % hd;
            if (permute) src = o - within + (within % 2) * (hd / 2) + within / 2;
            if (unpermute) src = o - within + 2 * (within % (hd / 2)) + within / (hd / 2);
            for (int k = 0; k < rank; k++) bt[k * out + o] = b[(from + src) * rank + k];
        }
        return new Update(rank, in, out, a, bt, scale);
    }
}
