package io.quire.model;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Published config.json files (abridged to the fields read) mapped onto the ModelConfig their GGUF gives. */
class HfConfigTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static HfConfig parse(String json) {
        return HfConfig.parse(JSON.readTree(json));
    }

    @Test
    void llama31WithItsRopeScaling() {
        HfConfig hf = parse("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
                 "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                 "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
                 "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
                 "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                  "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                 "tie_word_embeddings": false, "attention_bias": false, "mlp_bias": false}""");
        ModelConfig c = hf.config();
        assertThat(c.architecture()).isEqualTo("llama");
        assertThat(c.headDim()).isEqualTo(128);
        assertThat(c.numKvHeads()).isEqualTo(8);
        assertThat(c.contextLength()).isEqualTo(131072);
        assertThat(c.ropeTheta()).isEqualTo(500000f);
        assertThat(c.ropeNeox()).isTrue();
        assertThat(c.qkvBias()).isFalse();
        assertThat(hf.tiedEmbeddings()).isFalse();
        // transformers' _compute_llama3_parameters (computed in Python): 29 pairs kept, 29 slowed 8x, 6 blended.
        float[] f = hf.ropeFactors().factors();
        assertThat(f).hasSize(64);
        for (int i = 0; i < 29; i++) assertThat(f[i]).isEqualTo(1f);
        for (int i = 35; i < 64; i++) assertThat(f[i]).isEqualTo(8f);
        float[] blended = {1.207484f, 1.553415f, 2.026313f, 2.69453f, 3.684253f, 5.257327f};
        for (int i = 0; i < blended.length; i++) assertThat(f[29 + i]).isCloseTo(blended[i], within(1e-5f));
    }

    @Test
    void qwen25HasBiasesAndTiedEmbeddings() {
        HfConfig hf = parse("""
                {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
                 "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                 "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
                 "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
                 "rope_scaling": null, "sliding_window": 32768, "use_sliding_window": false,
                 "tie_word_embeddings": true}""");
        ModelConfig c = hf.config();
        assertThat(c.architecture()).isEqualTo("qwen2");
        assertThat(c.headDim()).isEqualTo(64);
        assertThat(c.qkvBias()).isTrue();
        assertThat(c.features()).isEqualTo(ArchitectureFeatures.plain(64));
        assertThat(c.rmsNormEps()).isEqualTo(1e-6f);
        assertThat(hf.tiedEmbeddings()).isTrue();
        assertThat(hf.ropeFactors()).isNull();
    }

    @Test
    void qwen3TakesHeadDimFromTheConfig() {
        ModelConfig c = parse("""
                {"model_type": "qwen3", "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28,
                 "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
                 "max_position_embeddings": 40960, "rms_norm_eps": 1e-06, "rope_theta": 1000000,
                 "tie_word_embeddings": true}""").config();
        assertThat(c.architecture()).isEqualTo("qwen3");
        assertThat(c.headDim()).isEqualTo(128);
        assertThat(c.qDim()).isEqualTo(2048);
        assertThat(c.features().qkNorm()).isTrue();
        assertThat(c.qkvBias()).isFalse();
    }

    @Test
    void mistralSlidesUnlessItsWindowIsNull() {
        String v01 = """
                {"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                 "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000,
                 "max_position_embeddings": 32768, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
                 "sliding_window": 4096}""";
        ModelConfig c = parse(v01).config();
        assertThat(c.architecture()).isEqualTo("llama");
        assertThat(c.features().slidingWindow()).isEqualTo(4096);
        assertThat(c.features().allLayersSlide()).isTrue();
        assertThat(parse(v01.replace("4096}", "null}")).config().features().slidingWindow()).isZero();
    }

    @Test
    void refusesWhatQuireDoesNotRun() {
        String base = """
                {"model_type": "llama", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "vocab_size": 320%s}""";
        assertThatThrownBy(() -> parse(base.formatted(", \"hidden_act\": \"gelu\""))).hasMessageContaining("gelu");
        assertThatThrownBy(() -> parse(base.formatted(", \"attention_bias\": true")))
                .hasMessageContaining("attention_bias");
        assertThatThrownBy(() -> parse(base.formatted(", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}")))
                .hasMessageContaining("unsupported rope_scaling type 'yarn'");
        assertThatThrownBy(() -> parse(base.formatted(", \"num_key_value_heads\": 3")))
                .hasMessageContaining("not a multiple of num_key_value_heads 3");
        assertThatThrownBy(() -> parse(base.replace("\"vocab_size\": 320", "\"vocab_size\": 0").formatted("")))
                .hasMessageContaining("vocab_size is 0");
        assertThatThrownBy(() -> parse(base.replace("llama", "gpt_neox").formatted("")))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("unsupported model_type 'gpt_neox'");
        assertThat(parse(base.formatted("")).config().headDim()).isEqualTo(16);
    }

    /** transformers 5 keeps RoPE settings in rope_parameters. */
    @Test
    void ropeParametersOfTransformers5() {
        HfConfig hf = parse("""
                {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
                 "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256,
                 "rope_parameters": {"rope_theta": 500000.0, "rope_type": "llama3", "factor": 32.0,
                   "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}""");
        assertThat(hf.config().ropeTheta()).isEqualTo(500000f);
        assertThat(hf.ropeFactors().factors()).hasSize(32).contains(32f, 1f);
        assertThat(parse("""
                {"model_type": "qwen3", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "vocab_size": 320,
                 "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}}""").config().ropeTheta())
                .isEqualTo(1e6f);
    }

    @Test
    void mixturesOfExperts() {
        ModelConfig mixtral = parse("""
                {"architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "hidden_size": 4096,
                 "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
                 "num_key_value_heads": 8, "num_local_experts": 8, "num_experts_per_tok": 2, "vocab_size": 32000,
                 "max_position_embeddings": 32768, "rms_norm_eps": 1e-05, "rope_theta": 1e6,
                 "sliding_window": null, "tie_word_embeddings": false}""").config();
        assertThat(mixtral.architecture()).isEqualTo("llama");
        assertThat(mixtral.features().expertCount()).isEqualTo(8);
        assertThat(mixtral.features().expertsUsed()).isEqualTo(2);
        assertThat(mixtral.features().expertFfnDim()).isEqualTo(14336);
        assertThat(mixtral.features().slidingWindow()).isZero();
        String qwen3Moe = """
                {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "hidden_size": 2048,
                 "intermediate_size": 6144, "moe_intermediate_size": 768, "num_experts": 128,
                 "num_experts_per_tok": 8, "num_hidden_layers": 48, "num_attention_heads": 32,
                 "num_key_value_heads": 4, "head_dim": 128, "vocab_size": 151936, "norm_topk_prob": true,
                 "decoder_sparse_step": 1, "mlp_only_layers": [], "rope_theta": 1000000.0}""";
        ModelConfig q = parse(qwen3Moe).config();
        assertThat(q.architecture()).isEqualTo("qwen3moe");
        assertThat(q.features().qkNorm()).isTrue();
        assertThat(q.features().expertCount()).isEqualTo(128);
        assertThat(q.features().expertsUsed()).isEqualTo(8);
        assertThat(q.features().expertFfnDim()).isEqualTo(768);
        assertThatThrownBy(() -> parse(qwen3Moe.replace("\"norm_topk_prob\": true", "\"norm_topk_prob\": false")))
                .hasMessageContaining("without norm_topk_prob");
        assertThatThrownBy(() -> parse(qwen3Moe.replace("[]", "[0, 1]"))).hasMessageContaining("mlp_only_layers");
    }

    @Test
    void gemma3TextWithTransformers5RopeParameters() {
        ModelConfig c = parse("""
                {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_size": 1152,
                 "intermediate_size": 6912, "num_hidden_layers": 26, "num_attention_heads": 4,
                 "num_key_value_heads": 1, "head_dim": 256, "vocab_size": 262144, "query_pre_attn_scalar": 256,
                 "sliding_window": 512, "hidden_activation": "gelu_pytorch_tanh", "final_logit_softcapping": null,
                 "attn_logit_softcapping": null, "max_position_embeddings": 32768,
                 "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention",
                   "sliding_attention", "full_attention", "sliding_attention", "sliding_attention",
                   "sliding_attention", "sliding_attention", "sliding_attention", "full_attention",
                   "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention",
                   "sliding_attention", "full_attention", "sliding_attention", "sliding_attention",
                   "sliding_attention", "sliding_attention", "sliding_attention", "full_attention",
                   "sliding_attention", "sliding_attention"],
                 "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                   "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}}""").config();
        assertThat(c.architecture()).isEqualTo("gemma3");
        assertThat(c.ropeTheta()).isEqualTo(1e6f);
        assertThat(c.ropeScaleLinear()).isEqualTo(8f);
        ArchitectureFeatures f = c.features();
        assertThat(f.ropeThetaLocal()).isEqualTo(10000f);
        assertThat(f.slidingWindow()).isEqualTo(512);
        assertThat(f.slidingPattern()).isEqualTo(6);
        assertThat(f.slides(4)).isTrue();
        assertThat(f.slides(5)).isFalse();
        assertThat(f.qkNorm()).isTrue();
        assertThat(f.finalSoftcap()).isZero();
        assertThat(f.embeddingScale()).isEqualTo((float) Math.sqrt(1152));
    }

    /** gemma-3-4b-it's config.json: the text part says only what differs from Gemma3TextConfig's defaults. */
    @Test
    void gemma3VisionLanguageConfigTakesTheTextDefaults() {
        HfConfig hf = parse("""
                {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
                 "text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text",
                   "num_hidden_layers": 34, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
                   "sliding_window": 1024},
                 "vision_config": {"hidden_size": 1152, "model_type": "siglip_vision_model"}}""");
        ModelConfig c = hf.config();
        assertThat(c.architecture()).isEqualTo("gemma3");
        assertThat(c.numHeads()).isEqualTo(8);
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.headDim()).isEqualTo(256);
        assertThat(c.vocabSize()).isEqualTo(262208);
        assertThat(c.contextLength()).isEqualTo(131072);
        assertThat(c.ropeTheta()).isEqualTo(1e6f);
        assertThat(c.ropeScaleLinear()).isEqualTo(8f);
        assertThat(c.features().slidingWindow()).isEqualTo(1024);
        assertThat(c.features().slidingPattern()).isEqualTo(6);
        assertThat(c.features().attnScale()).isEqualTo((float) (1 / Math.sqrt(256)));
        assertThat(hf.tiedEmbeddings()).isTrue();
        assertThatThrownBy(() -> parse("{\"model_type\": \"gemma3\"}")).hasMessageContaining("no text_config");
    }
}
