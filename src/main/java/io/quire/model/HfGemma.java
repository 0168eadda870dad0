package io.quire.model;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Gemma 2 and Gemma 3 ({@code gemma3_text}, or the text part of a vision-language {@code gemma3}) from
 * {@code config.json}, as llama.cpp's
 * converter reads them into the keys {@link ArchitectureFeatures#read} takes: embeddings scaled by
 * sqrt(hidden_size), GeGLU, pre- and post-norms, {@code query_pre_attn_scalar}, soft-capping,
 * alternating sliding and global layers, Gemma 3's Q/K norms and local RoPE base. transformers
 * stores Gemma's RMSNorm weights minus one ({@link #NORM_SHIFT}), which the converter adds back.
 */
final class HfGemma {
    /** What every Gemma norm weight in a transformers checkpoint is short of. */
    static final float NORM_SHIFT = 1f;

    private HfGemma() {}

    static boolean is(String modelType) {
        return modelType.equals("gemma2") || modelType.equals("gemma3_text");
    }

    /** The GGUF architecture name. */
    static String architecture(String modelType) {
        return modelType.equals("gemma2") ? "gemma2" : "gemma3";
    }

    /**
     * A vision-language Gemma 3's {@code text_config}, as a {@code gemma3_text} config: the multimodal
     * config.json writes only what differs from Gemma3TextConfig's defaults there.
     */
    static JsonNode textConfig(JsonNode c) {
        JsonNode text = c.path("text_config");
        if (!text.isObject()) throw new ModelLoadException("config.json of model_type gemma3 has no text_config");
        ObjectNode t = ((ObjectNode) text).deepCopy();
        t.put("model_type", "gemma3_text");
        if (!t.has("tie_word_embeddings") && c.has("tie_word_embeddings")) {
            t.set("tie_word_embeddings", c.get("tie_word_embeddings"));
        }
        return t;
    }

    /** transformers' Gemma3TextConfig defaults (llama.cpp's converter assumes the same), for the keys left out. */
    static JsonNode withDefaults(JsonNode c) {
        ObjectNode t = ((ObjectNode) c).deepCopy();
        t.putIfAbsent("num_attention_heads", t.numberNode(8));
        t.putIfAbsent("num_key_value_heads", t.numberNode(4));
        t.putIfAbsent("head_dim", t.numberNode(256));
        t.putIfAbsent("vocab_size", t.numberNode(262208));
        t.putIfAbsent("max_position_embeddings", t.numberNode(131072));
        t.putIfAbsent("rope_theta", t.numberNode(1_000_000.0));
        t.putIfAbsent("query_pre_attn_scalar", t.numberNode(256));
        return t;
    }

    static void checkActivation(JsonNode c) {
        String act = c.path("hidden_activation").asString(c.path("hidden_act").asString("gelu_pytorch_tanh"));
        if (!act.equals("gelu_pytorch_tanh")) {
            throw new ModelLoadException("config.json hidden_activation '" + act + "' is not gelu_pytorch_tanh");
        }
    }

    static ArchitectureFeatures features(JsonNode c, String modelType, int dim, int headDim, int layers,
            float theta) {
        boolean two = modelType.equals("gemma2");
        double scalar = c.path("query_pre_attn_scalar").asDouble(headDim);
        if (!(scalar > 0)) throw new ModelLoadException("config.json query_pre_attn_scalar is " + scalar);
        int window = c.path("sliding_window").asInt(two ? 4096 : 512);
        if (window <= 0) throw new ModelLoadException("config.json sliding_window is " + window);
        // Gemma 2 alternates (even layers slide); Gemma 3 has five sliding layers to each global one.
        int pattern = two ? 2 : pattern(c, layers);
        JsonNode sliding = c.path("rope_parameters").path("sliding_attention");  // transformers 5
        float local = two ? theta : (float) (sliding.isObject() ? sliding.path("rope_theta").asDouble(10000)
                : c.path("rope_local_base_freq").asDouble(10000));
        return new ArchitectureFeatures(!two, true, false, false, true, (float) Math.sqrt(dim),
                (float) (1 / Math.sqrt(scalar)), softcap(c, "attn_logit_softcapping", two ? 50 : 0),
                softcap(c, "final_logit_softcapping", two ? 30 : 0), window, pattern, local, 1f, 0, 0, 0);
    }

    /** {@code sliding_window_pattern}, or the period of {@code layer_types} (newer configs), which must be regular. */
    private static int pattern(JsonNode c, int layers) {
        JsonNode types = c.path("layer_types");
        if (!types.isArray()) return c.path("sliding_window_pattern").asInt(6);
        int pattern = 0;
        while (pattern < types.size() && !types.get(pattern).asString("").equals("full_attention")) pattern++;
        pattern++;
        for (int l = 0; l < types.size(); l++) {
            boolean slides = l % pattern < pattern - 1;
            if (!types.get(l).asString("").equals(slides ? "sliding_attention" : "full_attention")) {
                throw new ModelLoadException("config.json layer_types is not a repeating pattern of sliding layers"
                        + " and one full one, which Quire supports");
            }
        }
        return pattern;
    }

    /** A soft-capping value; null (Gemma 3) means none. */
    private static float softcap(JsonNode c, String key, float fallback) {
        JsonNode v = c.get(key);
        if (v == null) return fallback;
        return v.isNull() ? 0f : (float) v.asDouble();
    }
}
