package io.quire.model;

import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.Quant;
import io.quire.model.gguf.GgufFile;
import io.quire.model.gguf.GgufMetadata;
import io.quire.model.gguf.GgufWriter;
import io.quire.model.safetensors.SafetensorsWriter;
import io.quire.model.tokenizer.HfTokenizerFiles;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF model out as a Hugging Face folder, undoing what llama.cpp's
 * {@code convert_hf_to_gguf.py} did (transformers is not installable here, so this is the
 * converter run backwards): {@code config.json} from the metadata, transformers tensor names,
 * {@code [rows, cols]} shapes, q/k rows of the llama architecture un-permuted from interleaved
 * RoPE pairs back to rotate-half order, and {@code tokenizer.json} from the vocabulary.
 */
public final class HfCheckpoints {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private HfCheckpoints() {}

    /** {@code gguf} as a folder {@code dir} with weights in {@code type} (F32, F16, BF16), in {@code shards} files. */
    public static Path write(Path gguf, Path dir, TensorType type, int shards, String chatTemplate) throws IOException {
        return write(gguf, dir, type, shards, chatTemplate, false);
    }

    /**
     * As {@link #write(Path, Path, TensorType, int, String)}; {@code visionLanguage}: as a Gemma 3
     * vision-language checkpoint stores its text model, config under {@code text_config} and
     * tensors under {@code language_model.}, beside a vision tower tensor Quire must leave alone.
     */
    public static Path write(Path gguf, Path dir, TensorType type, int shards, String chatTemplate,
            boolean visionLanguage) throws IOException {
        Files.createDirectories(dir);
        try (GgufFile f = GgufFile.open(gguf)) {
            ModelConfig c = ModelLoader.readConfig(f);
            boolean tied = !f.hasTensor("output.weight");
            ObjectNode config = config(c, tied);
            if (f.hasTensor("rope_factors_long.weight")) {  // Phi-3's long-RoPE lives in config.json
                ObjectNode rope = config.putObject("rope_scaling").put("type", "longrope");
                for (String kind : new String[] {"long", "short"}) {
                    var list = rope.putArray(kind + "_factor");
                    for (float x : Quant.dequantize(f.tensor("rope_factors_" + kind + ".weight"))) list.add(x);
                }
                config.put("original_max_position_embeddings",
                        f.metadata().getInt(c.architecture() + ".rope.scaling.original_context_length", 0));
            }
            if (visionLanguage) {
                ObjectNode outer = JSON.createObjectNode().put("model_type", "gemma3");
                outer.putArray("architectures").add("Gemma3ForConditionalGeneration");
                outer.set("text_config", config);
                config = outer;
            }
            Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(config));
            List<Named> tensors = new ArrayList<>();
            for (String name : f.tensorInfos().keySet()) {
                Tensor t = f.tensor(name);
                float[] v = Quant.dequantize(t);
                if (c.architecture().equals("llama") && name.matches("blk\\.\\d+\\.attn_[qk]\\.weight")) {
                    v = unpermute(v, t.cols(), c.headDim());
                }
                if (c.features().postNorms() && name.endsWith("norm.weight")) {  // Gemma: stored minus one
                    for (int i = 0; i < v.length; i++) v[i] -= 1f;
                }
                var stacked = java.util.regex.Pattern.compile("blk\\.(\\d+)\\.ffn_(gate|up|down)_exps\\.weight")
                        .matcher(name);
                if (stacked.matches()) {  // transformers keeps one tensor per expert
                    int per = t.cols() * Math.toIntExact(t.shape()[1]);
                    for (int e = 0; e < t.shape()[2]; e++) {
                        String expert = "blk." + stacked.group(1) + ".ffn_" + stacked.group(2) + "." + e + ".weight";
                        tensors.add(new Named(HfTensorNames.of(expert, c),
                                java.util.Arrays.copyOfRange(v, e * per, (e + 1) * per),
                                new long[] {t.shape()[1], t.cols()}));
                    }
                    continue;
                }
                String hf = HfTensorNames.of(name, c);
                if (hf == null) continue;
                long[] shape = new long[t.shape().length];
                for (int d = 0; d < shape.length; d++) shape[d] = t.shape()[shape.length - 1 - d];
                tensors.add(new Named(hf, v, shape));
            }
            SafetensorsWriter[] writers = new SafetensorsWriter[shards];
            for (int s = 0; s < shards; s++) writers[s] = new SafetensorsWriter();
            ObjectNode weightMap = JSON.createObjectNode();
            for (int i = 0; i < tensors.size(); i++) {
                Named n = tensors.get(i);
                int shard = i * shards / tensors.size();  // contiguous runs, so a layer may span two shards
                byte[] bytes = Quant.quantize(type, n.values()).toArray(ValueLayout.JAVA_BYTE);
                String stored = visionLanguage ? "language_model." + n.name() : n.name();
                writers[shard].add(stored, type.name(), n.shape(), bytes);
                weightMap.put(stored, shardName(shard, shards));
            }
            if (visionLanguage) {
                writers[0].add("vision_tower.vision_model.embeddings.patch_embedding.weight", "F32",
                        new long[] {2, 2}, new byte[16]);
                weightMap.put("vision_tower.vision_model.embeddings.patch_embedding.weight", shardName(0, shards));
            }
            for (int s = 0; s < shards; s++) writers[s].write(dir.resolve(shardName(s, shards)));
            if (shards > 1) {
                ObjectNode index = JSON.createObjectNode();
                index.putObject("metadata").put("total_size", 0);
                index.set("weight_map", weightMap);
                Files.writeString(dir.resolve("model.safetensors.index.json"), JSON.writeValueAsString(index));
            }
            HfTokenizerFiles.write(f.metadata(), dir, chatTemplate);
        }
        return dir;
    }

    private record Named(String name, float[] values, long[] shape) {}

    static String shardName(int shard, int shards) {
        return shards == 1 ? "model.safetensors"
                : String.format("model-%05d-of-%05d.safetensors", shard + 1, shards);
    }

    /** transformers' config.json for {@code c}, as the converter's source would have had it. */
    static ObjectNode config(ModelConfig c, boolean tied) {
        ArchitectureFeatures f = c.features();
        String type = switch (c.architecture()) {
            case "llama" -> f.isMoe() ? "mixtral" : f.slidingWindow() > 0 ? "mistral" : "llama";
            case "qwen3moe" -> "qwen3_moe";
            case "gemma3" -> "gemma3_text";
            default -> c.architecture();
        };
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(switch (type) {
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            case "qwen3" -> "Qwen3ForCausalLM";
            case "mixtral" -> "MixtralForCausalLM";
            case "qwen3_moe" -> "Qwen3MoeForCausalLM";
            case "phi3" -> "Phi3ForCausalLM";
            case "gemma2" -> "Gemma2ForCausalLM";
            case "gemma3_text" -> "Gemma3ForCausalLM";
            default -> "LlamaForCausalLM";
        });
        o.put("model_type", type).put("hidden_act", "silu").put("hidden_size", c.dim())
                .put("intermediate_size", c.ffnDim()).put("num_hidden_layers", c.numLayers())
                .put("num_attention_heads", c.numHeads()).put("num_key_value_heads", c.numKvHeads())
                .put("head_dim", c.headDim()).put("vocab_size", c.vocabSize())
                .put("max_position_embeddings", c.contextLength()).put("rms_norm_eps", c.rmsNormEps())
                .put("rope_theta", c.ropeTheta()).put("tie_word_embeddings", tied).put("torch_dtype", "float32");
        if (type.equals("mistral")) o.put("sliding_window", f.slidingWindow());
        if (type.startsWith("gemma")) {
            o.remove("hidden_act");
            o.put("hidden_activation", "gelu_pytorch_tanh").put("sliding_window", f.slidingWindow())
                    .put("query_pre_attn_scalar", Math.round(1 / ((double) f.attnScale() * f.attnScale())));
            if (f.attnSoftcap() > 0) o.put("attn_logit_softcapping", f.attnSoftcap());
            else o.putNull("attn_logit_softcapping");
            if (f.finalSoftcap() > 0) o.put("final_logit_softcapping", f.finalSoftcap());
            else o.putNull("final_logit_softcapping");
            if (type.equals("gemma3_text")) {
                o.put("sliding_window_pattern", f.slidingPattern()).put("rope_local_base_freq", f.ropeThetaLocal());
            }
        }
        if (c.ropeScaleLinear() != 1f) o.putObject("rope_scaling").put("rope_type", "linear").put("factor",
                c.ropeScaleLinear());
        if (type.equals("mixtral")) {
            o.put("num_local_experts", f.expertCount()).put("num_experts_per_tok", f.expertsUsed())
                    .putNull("sliding_window");
        }
        if (type.equals("qwen3_moe")) {
            o.put("num_experts", f.expertCount()).put("num_experts_per_tok", f.expertsUsed())
                    .put("moe_intermediate_size", f.expertFfnDim()).put("norm_topk_prob", true)
                    .put("decoder_sparse_step", 1).putArray("mlp_only_layers");
        }
        return o;
    }

    /**
     * The inverse of llama.cpp's {@code permute}: within each head, GGUF row {@code 2i + s} (pair
     * {@code i}, half {@code s}) goes back to transformers' row {@code s * headDim/2 + i}.
     */
    static float[] unpermute(float[] w, int cols, int headDim) {
        int rows = w.length / cols, half = headDim / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < rows / headDim; h++) {
            for (int i = 0; i < half; i++) {
                for (int s = 0; s < 2; s++) {
                    System.arraycopy(w, (h * headDim + 2 * i + s) * cols, out, (h * headDim + s * half + i) * cols,
                            cols);
                }
            }
        }
        return out;
    }

    /** {@code gguf} with every weight rounded to {@code type} and stored so, to compare a checkpoint in that type. */
    public static Path rounded(Path gguf, Path out, TensorType type) throws IOException {
        try (GgufFile f = GgufFile.open(gguf)) {
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, GgufMetadata.Entry> e : f.metadata().entries().entrySet()) {
                w.put(e.getKey(), e.getValue());
            }
            for (String name : f.tensorInfos().keySet()) {
                Tensor t = f.tensor(name);
                w.addTensor(name, type, t.shape(), Quant.quantize(type, Quant.dequantize(t)));
            }
            w.write(out);
        }
        return out;
    }
}
