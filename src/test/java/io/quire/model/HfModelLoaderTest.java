package io.quire.model;

import io.quire.SharedFiles;
import io.quire.backend.TensorType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A Hugging Face folder written from a GGUF model ({@link HfCheckpoints}: the real stories260K, and
 * the llama.cpp-checked architecture fixtures) loads to the same model: the same logits for a
 * prompt and the same greedy tokens. stories260K's q/k rows come back un-permuted, so its logits
 * agreeing shows the folder's rotate-half RoPE is what the GGUF's interleaved pairs were.
 */
class HfModelLoaderTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /**
     * Largest difference allowed, relative to the logit's size (at least 1): float sums taken in
     * another order (RoPE pairs, heads, how threads split a product). The GGUF model itself differs
     * from run to run by up to about 6e-6 on stories260K's logits, which reach 17.8.
     */
    private static final double TOLERANCE = 1e-5;

    @ParameterizedTest(name = "stories260K {0} in {1} file(s)")
    @CsvSource({"F32, 1", "F32, 3", "BF16, 1", "BF16, 4", "F16, 2"})
    void stories260KMatchesTheGguf(TensorType type, int shards, @TempDir Path tmp) throws Exception {
        Path gguf = SharedFiles.stories260K();
        // In BF16/F16 the folder is compared with the GGUF rounded to that type the same way.
        Path reference = type == TensorType.F32 ? gguf : HfCheckpoints.rounded(gguf, tmp.resolve("r.gguf"), type);
        Path dir = HfCheckpoints.write(gguf, tmp.resolve("stories260K"), type, shards, null);
        try (LanguageModel<?> ggufModel = ModelLoader.load(reference);
             LanguageModel<?> hfModel = ModelLoader.load(dir)) {
            assertThat(hfModel.name()).isEqualTo("stories260K");
            assertThat(hfModel.config().ropeNeox()).as("transformers' rotate-half layout").isTrue();
            assertThat(hfModel.config().withFeatures("llama", false, hfModel.config().features()))
                    .isEqualTo(ggufModel.config());
            int[] prompt = hfModel.tokenizer().encode("Once upon a time", true, false);
            assertThat(prompt).containsExactly(Stories260KTest.PROMPT);
            double worst = worstDifference(ggufModel, hfModel, prompt);
            System.out.printf("stories260K %s x%d: max relative |HF folder - GGUF| logit = %.3g%n", type, shards,
                    worst);
            assertThat(worst).isLessThan(TOLERANCE);
            int[] greedy = new SequenceRunner(hfModel, 64, 16, 1).generate(List.of(prompt), 32, 3).getFirst();
            int[] expected = new SequenceRunner(ggufModel, 64, 16, 1).generate(List.of(prompt), 32, 3).getFirst();
            assertThat(greedy).containsExactly(expected);
            if (type == TensorType.F32) assertThat(greedy).containsExactly(Stories260KTest.REFERENCE);
        }
    }

    /**
     * qwen3 (per-head Q/K norms, byte-level BPE with Qwen2's regex), Mistral (a sliding window),
     * the mixtures of experts, whose experts transformers stores one tensor each, Phi-3 (fused
     * qkv_proj and gate_up_proj, long-RoPE factors from config.json), and Gemma 2 and 3 (norms
     * stored minus one, four norms a layer, soft-capping, local and global layers).
     */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "mistral", "qwen3moe", "mixtral", "phi3", "gemma2", "gemma3"})
    void architectureFixturesMatchTheGguf(String arch, @TempDir Path tmp) throws Exception {
        Path gguf = Path.of(getClass().getResource("/archs/" + arch + ".gguf").toURI());
        Path dir = HfCheckpoints.write(gguf, tmp.resolve(arch), TensorType.F32, 2, null);
        try (LanguageModel<?> ggufModel = ModelLoader.load(gguf); LanguageModel<?> hfModel = ModelLoader.load(dir)) {
            assertThat(hfModel.config().features()).isEqualTo(ggufModel.config().features());
            String text = "Hello world, this is a test of the tokenizer 123";
            assertThat(hfModel.tokenizer().encode(text, true, true))
                    .containsExactly(ggufModel.tokenizer().encode(text, true, true));
            // The fixture's prompt, which crosses the windows and routes tokens to every expert.
            JsonNode ref = JSON.readTree(Files.readString(gguf.resolveSibling(arch + ".json")));
            int[] prompt = new int[ref.get("prompt").size()];
            for (int i = 0; i < prompt.length; i++) prompt[i] = ref.get("prompt").get(i).asInt();
            double worst = worstDifference(ggufModel, hfModel, prompt);
            System.out.printf("%s: max relative |HF folder - GGUF| logit = %.3g%n", arch, worst);
            assertThat(worst).isLessThan(TOLERANCE);
        }
    }

    /** Gemma 3 as a vision-language checkpoint stores it: the text model is found under language_model. */
    @Test
    void gemma3VisionLanguageCheckpointServesItsTextModel(@TempDir Path tmp) throws Exception {
        Path gguf = Path.of(getClass().getResource("/archs/gemma3.gguf").toURI());
        Path dir = HfCheckpoints.write(gguf, tmp.resolve("gemma3-vl"), TensorType.F32, 2, null, true);
        try (LanguageModel<?> ggufModel = ModelLoader.load(gguf); LanguageModel<?> hfModel = ModelLoader.load(dir)) {
            assertThat(hfModel.config().withFeatures("gemma3", true, hfModel.config().features()))
                    .isEqualTo(ggufModel.config());
            assertThat(worstDifference(ggufModel, hfModel, new int[] {2, 10, 20, 30, 40, 50, 60, 70, 80, 90}))
                    .isLessThan(TOLERANCE);
        }
    }

    /** qwen2's q/k/v biases, from a random model (NEOX in both formats: nothing permuted). */
    @Test
    void qwen2BiasesMatchTheGguf(@TempDir Path tmp) throws Exception {
        ModelConfig c = new ModelConfig("qwen2", 64, 2, 4, 2, 16, 96, 320, 64, 1e-6f, 1e6f, 1f, true, true);
        Path gguf = tmp.resolve("qwen2.gguf");
        RandomModels.write(c, TensorType.F32, 5, gguf);
        Path dir = HfCheckpoints.write(gguf, tmp.resolve("qwen2"), TensorType.BF16, 1, null);
        Path reference = HfCheckpoints.rounded(gguf, tmp.resolve("qwen2-bf16.gguf"), TensorType.BF16);
        try (LanguageModel<?> ggufModel = ModelLoader.load(reference);
             LanguageModel<?> hfModel = ModelLoader.load(dir)) {
            assertThat(hfModel.config().qkvBias()).isTrue();
            double worst = worstDifference(ggufModel, hfModel, new int[] {1, 300, 301, 17, 42, 99, 250, 3});
            assertThat(worst).isLessThan(TOLERANCE);
        }
    }

    /**
     * The largest logit difference over every prefix of {@code prompt}, relative to the logit's
     * size where that exceeds 1; the largest absolute difference is printed.
     */
    static double worstDifference(LanguageModel<?> a, LanguageModel<?> b, int[] prompt) {
        SequenceRunner ra = new SequenceRunner(a, 64, 4, 7), rb = new SequenceRunner(b, 64, 4, 7);
        double worst = 0, worstAbs = 0;
        for (int p = 1; p <= prompt.length; p++) {
            float[] la = ra.lastLogits(java.util.Arrays.copyOf(prompt, p), 5);
            float[] lb = rb.lastLogits(java.util.Arrays.copyOf(prompt, p), 5);
            assertThat(lb).hasSize(la.length);
            for (int i = 0; i < la.length; i++) {
                double d = Math.abs(la[i] - lb[i]);
                worstAbs = Math.max(worstAbs, d);
                worst = Math.max(worst, d / Math.max(1, Math.abs(la[i])));
            }
        }
        System.out.printf("  (%s vs %s: max absolute logit difference %.3g)%n", a.name(), b.name(), worstAbs);
        return worst;
    }
}
