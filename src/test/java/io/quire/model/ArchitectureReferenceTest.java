package io.quire.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each architecture against llama.cpp (TransformersReferenceTest holds the transformers
 * reference): a tiny random F32 checkpoint per architecture, written with llama.cpp's
 * gguf-py under its real metadata keys and tensor names, and llama.cpp's logits for every prompt
 * position plus its greedy continuation, all made by {@code tools/make_arch_fixtures.py} into
 * {@code src/test/resources/archs}. The prompts (28 to 46 tokens) cross the 8-token sliding windows (Mistral,
 * Gemma's local layers) and route tokens to every expert (qwen3moe, Mixtral). Mistral's reference is
 * llama.cpp run on each position's window alone (its llama architecture has no sliding window; the
 * model has one layer, so that is exactly windowed attention). Where the fixture gives the prompt as
 * text (qwen3, qwen3moe: byte-level BPE with Qwen2's pre-tokenizer and ChatML special tokens; gemma:
 * SentencePiece without a space prefix) llama.cpp tokenized it, and Quire must get the same ids.
 */
class ArchitectureReferenceTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "qwen3moe", "mistral", "mixtral", "phi3", "gemma2", "gemma3"})
    void logitsAndGreedyTokensMatchLlamaCpp(String arch) throws Exception {
        Path dir = Path.of(getClass().getResource("/archs").toURI());
        JsonNode ref = JSON.readTree(Files.readString(dir.resolve(arch + ".json")));
        int[] prompt = ints(ref.get("prompt"));
        int[] expectedTokens = ints(ref.get("tokens"));
        try (LanguageModel<?> model = ModelLoader.load(dir.resolve(arch + ".gguf"))) {
            assertThat(model.config().architecture()).isEqualTo(arch.equals("mistral") || arch.equals("mixtral")
                    ? "llama" : arch);
            if (ref.has("text")) {
                // Qwen3's prompt is byte-level BPE with the qwen2 pre-tokenizer and chat special tokens,
                // Gemma's SentencePiece without the space prefix: llama.cpp tokenized the text.
                assertThat(model.tokenizer().encode(ref.get("text").asString(), true, true)).as("tokens of the text")
                        .containsExactly(prompt);
            }
            // Blocks of 4 tokens, handed out shuffled; each prefix prefilled in chunks of 5.
            SequenceRunner runner = new SequenceRunner(model, 64, 4, 7);
            double worst = 0;
            for (int p = 0; p < prompt.length; p++) {
                float[] logits = runner.lastLogits(java.util.Arrays.copyOf(prompt, p + 1), 5);
                JsonNode expected = ref.get("logits").get(p);
                assertThat(logits).hasSize(expected.size());
                for (int i = 0; i < logits.length; i++) {
                    worst = Math.max(worst, Math.abs(logits[i] - expected.get(i).asDouble()));
                }
            }
            System.out.printf("%s: max |Quire - llama.cpp| over %d positions x %d logits = %.3g%n", arch,
                    prompt.length, model.config().vocabSize(), worst);
            assertThat(worst).as("largest logit difference from llama.cpp").isLessThan(1e-4);
            List<int[]> greedy = runner.generate(List.of(prompt), expectedTokens.length, 7);
            assertThat(greedy.getFirst()).as("greedy tokens").containsExactly(expectedTokens);
            if (model.config().features().isMoe()) {
                long[] load = ((LlamaModel) model).tokensPerExpert();
                System.out.printf("%s: tokens per expert (all layers) %s%n", arch, java.util.Arrays.toString(load));
                assertThat(load).hasSize(model.config().features().expertCount());
                assertThat(java.util.Arrays.stream(load).min().orElse(0)).as("tokens of the least used expert")
                        .isPositive();
            }
        }
    }

    /**
     * Sequences of different lengths batched together (a chunked prefill beside decodes, each
     * with its own window and routing) give each what it gives alone, and the full prompt still
     * llama.cpp's tokens.
     */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3moe", "mistral", "gemma2", "gemma3"})
    void batchedSequencesGiveWhatEachGivesAlone(String arch) throws Exception {
        Path dir = Path.of(getClass().getResource("/archs").toURI());
        JsonNode ref = JSON.readTree(Files.readString(dir.resolve(arch + ".json")));
        int[] prompt = ints(ref.get("prompt"));
        List<int[]> prompts = List.of(prompt, java.util.Arrays.copyOf(prompt, 11),
                java.util.Arrays.copyOfRange(prompt, 3, prompt.length));
        try (LanguageModel<?> model = ModelLoader.load(dir.resolve(arch + ".gguf"))) {
            List<int[]> together = new SequenceRunner(model, 96, 4, 11).generate(prompts, 10, 9);
            assertThat(together.getFirst()).containsExactly(java.util.Arrays.copyOf(ints(ref.get("tokens")), 10));
            for (int i = 1; i < prompts.size(); i++) {
                int[] alone = new SequenceRunner(model, 96, 4, 13).generate(List.of(prompts.get(i)), 10, 16)
                        .getFirst();
                assertThat(together.get(i)).as("sequence %d", i).containsExactly(alone);
            }
        }
    }

    /**
     * The same checkpoints with every matrix stored as F16 (norms, biases and RoPE factors stay F32,
     * as llama.cpp's converter keeps them): within F16's rounding of llama.cpp's F32 logits.
     */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "qwen3moe", "mistral", "mixtral", "phi3", "gemma2", "gemma3"})
    void f16WeightsStayCloseToTheF32Reference(String arch, @org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        Path dir = Path.of(getClass().getResource("/archs").toURI());
        JsonNode ref = JSON.readTree(Files.readString(dir.resolve(arch + ".json")));
        int[] prompt = ints(ref.get("prompt"));
        Path f16 = tmp.resolve(arch + "-f16.gguf");
        try (io.quire.model.gguf.GgufFile in = io.quire.model.gguf.GgufFile.open(dir.resolve(arch + ".gguf"))) {
            io.quire.model.gguf.GgufWriter w = new io.quire.model.gguf.GgufWriter();
            in.metadata().entries().forEach(w::put);
            for (String name : in.tensorInfos().keySet()) {
                io.quire.backend.Tensor t = in.tensor(name);
                boolean matrix = t.shape().length >= 2;
                w.addTensor(name, matrix ? io.quire.backend.TensorType.F16 : t.type(), t.shape(), matrix
                        ? io.quire.backend.cpu.Quant.quantize(io.quire.backend.TensorType.F16,
                                io.quire.backend.cpu.Quant.dequantize(t)) : t.data());
            }
            w.write(f16);
        }
        try (LanguageModel<?> model = ModelLoader.load(f16)) {
            float[] logits = new SequenceRunner(model, 64, 4, 3).lastLogits(prompt, 8);
            JsonNode expected = ref.get("logits").get(prompt.length - 1);
            double worst = 0;
            for (int i = 0; i < logits.length; i++) {
                worst = Math.max(worst, Math.abs(logits[i] - expected.get(i).asDouble()));
            }
            System.out.printf("%s F16: max |Quire - llama.cpp F32| at the last position = %.3g%n", arch, worst);
            assertThat(worst).isLessThan(2e-2);
        }
    }

    /** The parameter count the benchmarks print is what the file holds (RoPE factor tables aside). */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "qwen3moe", "mistral", "mixtral", "phi3", "gemma2", "gemma3"})
    void parameterCountIsWhatTheFileHolds(String arch) throws Exception {
        Path file = Path.of(getClass().getResource("/archs/" + arch + ".gguf").toURI());
        try (io.quire.model.gguf.GgufFile f = io.quire.model.gguf.GgufFile.open(file)) {
            long elements = 0;
            for (String name : f.tensorInfos().keySet()) {
                if (!name.startsWith("rope_")) elements += f.tensor(name).elements();
            }
            assertThat(ModelLoader.readConfig(f).parameterCount(!f.hasTensor("output.weight"))).isEqualTo(elements);
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
