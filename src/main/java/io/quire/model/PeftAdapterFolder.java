package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.model.safetensors.SafetensorsException;
import io.quire.model.safetensors.SafetensorsFile;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A LoRA adapter folder as PEFT's {@code save_pretrained} writes it: {@code adapter_config.json}
 * ({@code r}, {@code lora_alpha}, {@code use_rslora}; what Quire does not apply refused by name) and
 * {@code adapter_model.safetensors}, whose A and B are {@code [r, in]} and {@code [out, r]} under
 * transformers' module names, q/k rows in rotate-half order.
 */
final class PeftAdapterFolder {
    static final String CONFIG = "adapter_config.json";
    static final String WEIGHTS = "adapter_model.safetensors";
    private static final Pattern NAME = Pattern.compile(
            "(?:base_model\\.model\\.)?(?:model\\.)?layers\\.(\\d+)\\.(?:self_attn|mlp)\\."
                    + "(q_proj|k_proj|v_proj|o_proj|qkv_proj|gate_proj|up_proj|down_proj|gate_up_proj)"
                    + "\\.lora_([AB])(?:\\.default)?\\.weight");

    private PeftAdapterFolder() {}

    static LoraAdapter load(String name, Path dir, ModelConfig c) {
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
        LoraUpdates updates = new LoraUpdates(name, c);
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            for (String tensor : f.entries().keySet()) {
                Matcher m = NAME.matcher(tensor);
                if (!m.matches()) {
                    throw new ModelLoadException("LoRA adapter " + name + ": tensor " + tensor + " is not one Quire"
                            + " applies (it adapts the attention and MLP projections of the layers, nothing else)");
                }
                if (!m.group(3).equals("A")) continue;
                String bName = tensor.substring(0, m.start(3)) + "B" + tensor.substring(m.end(3));
                if (!f.has(bName)) throw new ModelLoadException("LoRA adapter " + name + ": " + bName + " is missing");
                Tensor a = f.tensor(tensor);
                float scale = rsLora ? (float) (alpha / Math.sqrt(a.rows())) : alpha / a.rows();
                updates.add(Integer.parseInt(m.group(1)), m.group(2), a, f.tensor(bName), scale, false);
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
        return updates.adapter(dir);
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

}
