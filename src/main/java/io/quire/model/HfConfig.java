package io.quire.model;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A Hugging Face {@code config.json} mapped onto the {@link ModelConfig} that the GGUF path builds
 * from the same model (llama.cpp's {@code convert_hf_to_gguf.py} copies these fields into the
 * {@code <arch>.*} keys {@link ModelLoader#readConfig} reads). Defaults are transformers' config
 * class defaults, since a {@code config.json} omits fields left at them.
 *
 * <p>RoPE is always NEOX-style (rotate halves) here: that is the layout of transformers' q/k
 * weights for every family, which llama.cpp permutes into interleaved pairs only for its llama
 * type. Keeping the weights as stored lets them stay memory-mapped.
 *
 * @param tiedEmbeddings {@code tie_word_embeddings}: the LM head is the token embedding
 * @param ropeFactors    per-pair frequency divisors (Llama 3's {@code rope_scaling}, Phi-3's short and long
 *                       factors), null for none
 */
record HfConfig(ModelConfig config, boolean tiedEmbeddings, RopeFactors ropeFactors) {
    static final String FILE_NAME = "config.json";
    /** transformers' {@code model_type} values Quire runs, and the architecture each runs as. */
    static final List<String> MODEL_TYPES = List.of("llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe",
            "phi3", "gemma2", "gemma3_text");
    private static final JsonMapper JSON = JsonMapper.builder().build();

    static HfConfig read(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException(dir + " is a folder but has no " + FILE_NAME
                    + ": a model folder is a Hugging Face checkpoint (config.json, model.safetensors, tokenizer.json)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (JacksonException e) {
            throw new ModelLoadException(file + " is not JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject()) throw new ModelLoadException(file + " is not a JSON object");
        return parse(root);
    }

    static HfConfig parse(JsonNode c) {
        String type = c.path("model_type").asString("");
        // Gemma 3's vision-language checkpoints: the text model is read, the vision tower left alone.
        if (type.equals("gemma3")) return parse(HfGemma.textConfig(c));
        if (type.equals("gemma3_text")) c = HfGemma.withDefaults(c);
        if (!MODEL_TYPES.contains(type)) {
            throw new ModelLoadException("unsupported model_type '" + type + "' in config.json (architectures "
                    + c.path("architectures") + "; supported: " + String.join(", ", MODEL_TYPES) + ")");
        }
        String act = c.path("hidden_act").asString("silu");
        if (HfGemma.is(type)) {
            HfGemma.checkActivation(c);
        } else if (!act.equals("silu")) {
            throw new ModelLoadException("config.json hidden_act '" + act + "' is not silu");
        }
        if (c.path("mlp_bias").asBoolean(false)) throw new ModelLoadException("config.json mlp_bias is not supported");
        // Only Qwen2's q/k/v biases are run; elsewhere they would be dropped without a word.
        if (!type.equals("qwen2") && c.path("attention_bias").asBoolean(false)) {
            throw new ModelLoadException("config.json attention_bias (biases on q/k/v/o) is not supported");
        }
        if (c.path("partial_rotary_factor").asDouble(1) != 1) {
            throw new ModelLoadException("config.json partial_rotary_factor: partial RoPE is not supported");
        }
        int dim = positive(c, "hidden_size");
        int layers = positive(c, "num_hidden_layers");
        int heads = positive(c, "num_attention_heads");
        int kvHeads = c.hasNonNull("num_key_value_heads") ? positive(c, "num_key_value_heads") : heads;
        if (heads % kvHeads != 0) {
            throw new ModelLoadException("num_attention_heads " + heads + " is not a multiple of num_key_value_heads "
                    + kvHeads);
        }
        int headDim;
        if (c.hasNonNull("head_dim")) {
            headDim = positive(c, "head_dim");
        } else {
            if (dim % heads != 0) {
                throw new ModelLoadException("hidden_size " + dim + " is not divisible by num_attention_heads "
                        + heads + " (and there is no head_dim)");
            }
            headDim = dim / heads;
        }
        if (headDim % 2 != 0) throw new ModelLoadException("the head size " + headDim + " is odd: RoPE rotates pairs");
        int ffn = positive(c, "intermediate_size");
        int vocab = positive(c, "vocab_size");
        int ctx = c.hasNonNull("max_position_embeddings") ? positive(c, "max_position_embeddings") : 2048;
        float eps = (float) c.path("rms_norm_eps").asDouble(1e-6);
        if (!(eps >= 0) || Float.isInfinite(eps)) throw new ModelLoadException("rms_norm_eps is " + eps);
        // transformers 5 writes rope_theta and the scaling into one rope_parameters object (Gemma 3: one per
        // layer type, the global layers' under full_attention).
        JsonNode params = c.path("rope_parameters");
        JsonNode rope = params.has("full_attention") ? params.path("full_attention") : params;
        float theta = (float) (rope.isObject() ? rope : c).path("rope_theta").asDouble(10000);
        if (!(theta > 0) || Float.isInfinite(theta)) throw new ModelLoadException("rope_theta is " + theta);

        float linear = 1f, attnFactor = 1f;
        RopeFactors factors = null;
        JsonNode rs = rope.isObject() ? rope : c.path("rope_scaling");
        if (rs.isObject()) {
            String kind = rs.path("rope_type").asString(rs.path("type").asString("default"));
            switch (kind) {
                case "default" -> { }
                case "linear" -> linear = (float) rs.path("factor").asDouble(1);
                case "llama3" -> factors = RopeFactors.of(llama3Factors(rs, theta, headDim));
                case "longrope", "su" -> {
                    // Phi-3's long-RoPE: short factors inside the trained context, long beyond it
                    // (RopeFactors says why); cos and sin scaled as transformers' _compute_longrope_parameters.
                    int original = c.path("original_max_position_embeddings").asInt(
                            rs.path("original_max_position_embeddings").asInt(ctx));
                    if (original <= 0) throw new ModelLoadException("original_max_position_embeddings is " + original);
                    float[] shortFactors = floats(rs.path("short_factor"), headDim / 2);
                    factors = ctx > original
                            ? new RopeFactors(shortFactors, floats(rs.path("long_factor"), headDim / 2), original)
                            : RopeFactors.of(shortFactors);
                    double scale = rs.path("factor").asDouble((double) ctx / original);
                    attnFactor = rs.hasNonNull("attention_factor") ? (float) rs.path("attention_factor").asDouble()
                            : scale > 1 ? (float) Math.sqrt(1 + Math.log(scale) / Math.log(original)) : 1f;
                }
                default -> throw new ModelLoadException("unsupported rope_scaling type '" + kind
                        + "' in config.json (supported: linear, llama3)");
            }
            if (!(linear > 0) || Float.isInfinite(linear)) {
                throw new ModelLoadException("rope_scaling factor is " + linear);
            }
        }

        float scale = (float) (1 / Math.sqrt(headDim));
        ArchitectureFeatures features = switch (type) {
            // transformers' MistralConfig slides by default (4096); a null sliding_window turns it off.
            case "mistral" -> llama(c.has("sliding_window") ? c.path("sliding_window").asInt(0) : 4096, scale, 0, 0, 0);
            case "mixtral" -> llama(c.path("sliding_window").asInt(0), scale, positive(c, "num_local_experts"),
                    positive(c, "num_experts_per_tok"), ffn);
            case "qwen3" -> new ArchitectureFeatures(true, false, false, false, false, 1f, scale, 0f, 0f, 0, 0,
                    10000f, 1f, 0, 0, 0);
            // Fused qkv_proj and gate_up_proj; its sliding_window is ignored, as llama.cpp ignores it.
            case "phi3" -> new ArchitectureFeatures(false, false, true, true, false, 1f, scale, 0f, 0f, 0, 0,
                    10000f, attnFactor, 0, 0, 0);
            case "qwen3_moe" -> {
                // Quire's routing renormalises the top-k weights and puts experts in every layer.
                if (!c.path("norm_topk_prob").asBoolean(false) || c.path("decoder_sparse_step").asInt(1) != 1
                        || !c.path("mlp_only_layers").isEmpty()) {
                    throw new ModelLoadException("config.json: a qwen3_moe without norm_topk_prob, or with dense"
                            + " layers (decoder_sparse_step, mlp_only_layers), is not supported");
                }
                yield new ArchitectureFeatures(true, false, false, false, false, 1f, scale, 0f, 0f, 0, 0, 10000f, 1f,
                        // transformers 5 saves Qwen3-MoE's num_experts as num_local_experts.
                        positive(c, c.has("num_experts") ? "num_experts" : "num_local_experts"),
                        positive(c, "num_experts_per_tok"),
                        positive(c, "moe_intermediate_size"));
            }
            case "gemma2", "gemma3_text" -> HfGemma.features(c, type, dim, headDim, layers, theta);
            // Like llama.cpp, Qwen2's use_sliding_window is not applied (it is off in released models).
            default -> ArchitectureFeatures.plain(headDim);
        };
        if (features.expertsUsed() > features.expertCount()) {
            throw new ModelLoadException("config.json num_experts_per_tok " + features.expertsUsed()
                    + " exceeds the " + features.expertCount() + " experts");
        }
        String arch = switch (type) {
            case "mistral", "mixtral" -> "llama";
            case "qwen3_moe" -> "qwen3moe";
            case "gemma2", "gemma3_text" -> HfGemma.architecture(type);
            default -> type;
        };
        ModelConfig config = new ModelConfig(arch, dim, layers, heads, kvHeads, headDim, ffn, vocab, ctx, eps, theta,
                linear, true, type.equals("qwen2"), features);
        // The config classes of these families default to an untied LM head, Gemma's to a tied one.
        boolean tied = c.path("tie_word_embeddings").asBoolean(HfGemma.is(type));
        return new HfConfig(config, tied, factors);
    }

    /** Llama's features: Mistral's window, Mixtral's experts (0 for none). */
    private static ArchitectureFeatures llama(int window, float scale, int experts, int used, int expertFfn) {
        if (window < 0) throw new ModelLoadException("config.json sliding_window is " + window);
        return new ArchitectureFeatures(false, false, false, false, false, 1f, scale, 0f, 0f, window, 0, 10000f, 1f,
                experts, used, expertFfn);
    }

    /**
     * Llama 3.1's frequency divisors, as transformers' {@code _compute_llama3_parameters} (and
     * llama.cpp's converter, into {@code rope_freqs}) compute them: long wavelengths are slowed by
     * {@code factor}, short ones kept, those between blended smoothly.
     */
    static float[] llama3Factors(JsonNode rs, float theta, int headDim) {
        double factor = rs.path("factor").asDouble(8);
        double low = rs.path("low_freq_factor").asDouble(1);
        double high = rs.path("high_freq_factor").asDouble(4);
        double old = rs.path("original_max_position_embeddings").asDouble(8192);
        if (!(factor > 0) || !(high > low) || !(old > 0)) {
            throw new ModelLoadException("rope_scaling llama3 needs factor > 0 and high_freq_factor > low_freq_factor");
        }
        double lowWavelen = old / low, highWavelen = old / high;
        float[] out = new float[headDim / 2];
        for (int i = 0; i < out.length; i++) {
            double freq = Math.pow(theta, -2.0 * i / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) out[i] = 1f;
            else if (wavelen > lowWavelen) out[i] = (float) factor;
            else {
                double smooth = (old / wavelen - low) / (high - low);
                out[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return out;
    }

    private static float[] floats(JsonNode list, int n) {
        if (!list.isArray() || list.size() != n) {
            throw new ModelLoadException("config.json rope_scaling needs " + n + " long and short factors");
        }
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) list.get(i).asDouble();
        return out;
    }

    private static int positive(JsonNode c, String key) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) throw new ModelLoadException("config.json lacks the required field " + key);
        if (!v.canConvertToInt() || v.asInt() <= 0) {
            throw new ModelLoadException("config.json " + key + " is " + v + "; it must be a whole number >= 1");
        }
        return v.asInt();
    }
}
