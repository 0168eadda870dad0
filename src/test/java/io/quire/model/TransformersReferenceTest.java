package io.quire.model;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each architecture against Hugging Face transformers itself: a tiny random checkpoint per
 * architecture saved by transformers' {@code save_pretrained}, transformers' F32 logits at every
 * prompt position and its greedy continuation, the same weights saved in BF16, and the checkpoint
 * converted to GGUF by llama.cpp's {@code convert_hf_to_gguf.py}; all made by
 * {@code tools/make_hf_fixtures.py} into {@code src/test/resources/hf}. The tokenizers were trained
 * there (SentencePiece with byte fallback; Gemma's without the space prefix; byte-level BPE with
 * Qwen2's pre-tokenizer and ChatML tokens), and transformers' tokenizer gave the prompt's ids.
 * The prompts (21 to 26 tokens) cross the 8-token windows of Mistral and Gemma's local layers, and
 * route tokens to the experts of Mixtral and Qwen3-MoE.
 */
class TransformersReferenceTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** The checkpoint folder as transformers saved it. */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "phi3", "gemma2", "gemma3"})
    void folderMatchesTransformers(String arch) throws Exception {
        JsonNode ref = reference(arch);
        try (LanguageModel<?> model = ModelLoader.load(dir().resolve(arch), arch)) {
            assertTokensOfTheText(model, ref);
            assertLogitsMatch(model, ref, arch + " folder", ints(ref.get("prompt")).length);
            assertThat(greedy(model, ref)).as("greedy tokens").containsExactly(ints(ref.get("tokens")));
        }
    }

    /**
     * The same checkpoint after llama.cpp's converter: GGUF metadata and tensor names as llama.cpp
     * writes them (q/k rows permuted, Gemma's norms shifted by one, Phi-3's RoPE factors as tensors).
     * llama.cpp's converter drops Mistral's sliding window (its llama architecture has none), so
     * Mistral's GGUF agrees with transformers only while the prompt fits the window.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "phi3", "gemma2", "gemma3"})
    void llamaCppConversionMatchesTransformers(String arch) throws Exception {
        JsonNode ref = reference(arch);
        try (LanguageModel<?> model = ModelLoader.load(dir().resolve(arch + ".gguf"))) {
            assertTokensOfTheText(model, ref);
            if (arch.equals("mistral")) {
                assertLogitsMatch(model, ref, "mistral GGUF, inside the window", 8);
                float[] last = new SequenceRunner(model, 64, 4, 3).lastLogits(ints(ref.get("prompt")), 5);
                assertThat(worst(last, ref.get("logits").get(ref.get("prompt").size() - 1)))
                        .as("beyond the window the GGUF, which has none, must differ").isGreaterThan(1e-2);
                return;
            }
            assertLogitsMatch(model, ref, arch + " GGUF", ints(ref.get("prompt")).length);
            assertThat(greedy(model, ref)).as("greedy tokens").containsExactly(ints(ref.get("tokens")));
        }
    }

    /**
     * The weights saved in BF16 (the folder's other files unchanged): within 1e-4 of transformers
     * computing in F32 on those BF16 weights, and its greedy tokens.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "phi3", "gemma2", "gemma3"})
    void bf16FolderMatchesTransformers(String arch, @TempDir Path tmp) throws Exception {
        JsonNode ref = reference(arch);
        try (var files = Files.list(dir().resolve(arch))) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().endsWith(".safetensors")) Files.copy(f, tmp.resolve(f.getFileName()));
            }
        }
        Files.copy(dir().resolve(arch + "-bf16/model.safetensors"), tmp.resolve("model.safetensors"));
        int[] prompt = ints(ref.get("prompt"));
        try (LanguageModel<?> model = ModelLoader.load(tmp, arch)) {
            float[] logits = new SequenceRunner(model, 64, 4, 3).lastLogits(prompt, 5);
            double worst = worst(logits, ref.get("bf16_last_logits"));
            System.out.printf("%s BF16: max |Quire - transformers| at the last position = %.3g%n", arch, worst);
            assertThat(worst).as("largest logit difference from transformers on the BF16 weights").isLessThan(1e-4);
            List<int[]> out = new SequenceRunner(model, 64, 4, 7).generate(List.of(prompt),
                    ref.get("bf16_tokens").size(), 7);
            assertThat(out.getFirst()).as("greedy tokens").containsExactly(ints(ref.get("bf16_tokens")));
        }
    }

    private static void assertTokensOfTheText(LanguageModel<?> model, JsonNode ref) {
        assertThat(model.tokenizer().encode(ref.get("text").asString(), true, true))
                .as("Quire's ids for the text, against transformers' tokenizer").containsExactly(ints(ref.get("prompt")));
    }

    /** Every prefix of the prompt up to {@code positions}, prefilled in chunks of 5 into shuffled blocks of 4. */
    private static void assertLogitsMatch(LanguageModel<?> model, JsonNode ref, String what, int positions) {
        int[] prompt = ints(ref.get("prompt"));
        SequenceRunner runner = new SequenceRunner(model, 64, 4, 7);
        double worst = 0;
        for (int p = 0; p < positions; p++) {
            float[] logits = runner.lastLogits(Arrays.copyOf(prompt, p + 1), 5);
            assertThat(logits).hasSize(ref.get("logits").get(p).size());
            worst = Math.max(worst, worst(logits, ref.get("logits").get(p)));
        }
        System.out.printf("%s: max |Quire - transformers| over %d positions x %d logits = %.3g%n", what, positions,
                model.config().vocabSize(), worst);
        assertThat(worst).as("largest logit difference from transformers").isLessThan(1e-4);
    }

    private static int[] greedy(LanguageModel<?> model, JsonNode ref) {
        return new SequenceRunner(model, 64, 4, 7).generate(List.of(ints(ref.get("prompt"))),
                ref.get("tokens").size(), 7).getFirst();
    }

    private static double worst(float[] logits, JsonNode expected) {
        double worst = 0;
        for (int i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i] - expected.get(i).asDouble()));
        return worst;
    }

    private static JsonNode reference(String arch) throws Exception {
        return JSON.readTree(Files.readString(dir().resolve(arch + ".json")));
    }

    private static Path dir() throws Exception {
        return Path.of(TransformersReferenceTest.class.getResource("/hf").toURI());
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
