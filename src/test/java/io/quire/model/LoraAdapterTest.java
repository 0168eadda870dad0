package io.quire.model;

import io.quire.SharedFiles;
import io.quire.backend.KvCache;
import io.quire.backend.TensorType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A LoRA adapter on stories260K computes what the model with the adapter merged into its weights
 * computes ({@link PeftAdapters#merge}, plain loops over transformers-layout matrices): on the GGUF
 * (whose q/k rows llama.cpp permuted, so the adapter's are permuted at load) and on the Hugging Face
 * folder; sequences of two adapters and of none share a batch without touching each other.
 */
class LoraAdapterTest {
    @TempDir static Path dir;
    static Path gguf, hf, merged, mergedAttention;
    static Path all, attention, allGguf;

    @BeforeAll
    static void adapters() throws IOException {
        gguf = SharedFiles.stories260K();
        hf = HfCheckpoints.write(gguf, dir.resolve("hf"), TensorType.F32, 1, null);
        all = dir.resolve("all");
        PeftAdapters.Adapter a = PeftAdapters.write(hf, all, PeftAdapters.ALL, 4, 8, 0.12f, 1);
        merged = PeftAdapters.merge(hf, a, dir.resolve("merged"));
        allGguf = PeftAdapters.writeGguf(a, dir.resolve("all.gguf"), 8, 4);
        attention = dir.resolve("attention");
        PeftAdapters.Adapter b = PeftAdapters.write(hf, attention, List.of("q_proj", "k_proj", "v_proj", "o_proj"),
                8, 8, 0.1f, 2);
        mergedAttention = PeftAdapters.merge(hf, b, dir.resolve("merged-attention"));
    }

    static final int[] PROMPT = {1, 403, 407, 261, 378};
    static final int[] OTHER = {1, 300, 301, 290, 280, 270, 260, 411};

    @Test
    void onTheGgufTheAdapterComputesTheMergedModel() throws IOException {
        try (LanguageModel<?> base = ModelLoader.load(gguf); LanguageModel<?> reference = ModelLoader.load(merged)) {
            base.useAdapters(List.of(LoraAdapter.load("all", all, base.config())));
            List<float[]> withAdapter = run(base, List.of(PROMPT), new int[] {1}, 12).getFirst();
            List<float[]> expected = run(reference, List.of(PROMPT), null, 12).getFirst();
            List<float[]> without = run(base, List.of(PROMPT), null, 12).getFirst();
            assertClose(withAdapter, expected);
            // the adapter changes what the model says: the comparison above could fail
            assertThat(argmaxes(without)).isNotEqualTo(argmaxes(expected));
        }
    }

    @Test
    void onTheHuggingFaceFolderTheAdapterComputesTheMergedModel() throws IOException {
        try (LanguageModel<?> base = ModelLoader.load(hf); LanguageModel<?> reference = ModelLoader.load(merged)) {
            base.useAdapters(List.of(LoraAdapter.load("all", all, base.config())));
            assertClose(run(base, List.of(PROMPT), new int[] {1}, 12).getFirst(),
                    run(reference, List.of(PROMPT), null, 12).getFirst());
        }
    }

    @Test
    void llamaCppsGgufAdapterComputesTheMergedModelOnTheGgufAndOnTheFolder() throws IOException {
        try (LanguageModel<?> onGguf = ModelLoader.load(gguf); LanguageModel<?> onFolder = ModelLoader.load(hf);
             LanguageModel<?> reference = ModelLoader.load(merged)) {
            onGguf.useAdapters(List.of(LoraAdapter.load("all", allGguf, onGguf.config())));
            // the folder's q/k rows are in rotate-half order: the adapter's interleaved rows are put back
            onFolder.useAdapters(List.of(LoraAdapter.load("all", allGguf, onFolder.config())));
            List<float[]> expected = run(reference, List.of(PROMPT), null, 12).getFirst();
            assertClose(run(onGguf, List.of(PROMPT), new int[] {1}, 12).getFirst(), expected);
            assertClose(run(onFolder, List.of(PROMPT), new int[] {1}, 12).getFirst(), expected);
        }
    }

    /**
     * llama.cpp's greedy tokens after {@link #PROMPT} with the GGUF adapter of {@link #adapters} ({@code all.gguf},
     * seeded, so the same file each run): {@code llama-server -m stories260K.gguf --lora all.gguf -c 512}, then
     * {@code POST /completion {"prompt": [1, 403, 407, 261, 378], "n_predict": 24, "temperature": 0, "top_k": 1,
     * "return_tokens": true}} (llama.cpp 80fb11a). The merged model gives the same 24.
     */
    static final List<Integer> LLAMA_CPP_WITH_ADAPTER = List.of(378, 378, 378, 285, 338, 263, 377, 263, 406, 263, 413,
            351, 263, 413, 413, 333, 424, 275, 275, 327, 302, 302, 302, 302);

    @Test
    void theGgufAdapterGivesLlamaCppsTokens() throws IOException {
        try (LanguageModel<?> base = ModelLoader.load(gguf)) {
            base.useAdapters(List.of(LoraAdapter.load("all", allGguf, base.config())));
            assertThat(argmaxes(run(base, List.of(PROMPT), new int[] {1}, 24).getFirst()))
                    .isEqualTo(LLAMA_CPP_WITH_ADAPTER);
        }
    }

    /**
     * The other architectures' fixtures (the GGUF files the reference tests use), each with a random PEFT
     * adapter made on its Hugging Face folder: Phi-3's fused qkv_proj and gate_up_proj are split, Qwen3's
     * and Gemma 3's per-head norms follow the updated projections, Gemma's post-norms the updated outputs,
     * Mistral's q/k rows are permuted as llama's, and a mixture of experts takes adapters on attention.
     */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "mistral", "phi3", "gemma2", "gemma3", "qwen3moe", "mixtral"})
    void onEachArchitectureTheAdapterComputesTheMergedModel(String arch, @TempDir Path tmp) throws Exception {
        Path fixture = Path.of(getClass().getResource("/archs/" + arch + ".gguf").toURI());
        Path folder = HfCheckpoints.write(fixture, tmp.resolve("hf"), TensorType.F32, 1, null);
        List<String> modules = arch.endsWith("moe") || arch.equals("mixtral")
                ? List.of("q_proj", "k_proj", "v_proj", "o_proj")
                : arch.equals("phi3") ? List.of("qkv_proj", "o_proj", "gate_up_proj", "down_proj") : PeftAdapters.ALL;
        PeftAdapters.Adapter a = PeftAdapters.write(folder, tmp.resolve("lora"), modules, 4, 8, 0.1f, 3);
        Path mergedFolder = PeftAdapters.merge(folder, a, tmp.resolve("merged"));
        int[] prompt = {1, 20, 40, 60, 80, 100, 120, 140};
        try (LanguageModel<?> base = ModelLoader.load(fixture);
             LanguageModel<?> reference = ModelLoader.load(mergedFolder)) {
            base.useAdapters(List.of(LoraAdapter.load("a", tmp.resolve("lora"), base.config())));
            assertClose(run(base, List.of(prompt), new int[] {1}, 4).getFirst(),
                    run(reference, List.of(prompt), null, 4).getFirst());
        }
    }

    @Test
    void twoAdaptersAndTheBaseShareABatch() throws IOException {
        try (LanguageModel<?> base = ModelLoader.load(gguf); LanguageModel<?> plain = ModelLoader.load(gguf);
             LanguageModel<?> refAll = ModelLoader.load(merged);
             LanguageModel<?> refAttention = ModelLoader.load(mergedAttention)) {
            base.useAdapters(List.of(LoraAdapter.load("all", all, base.config()),
                    LoraAdapter.load("attention", attention, base.config())));
            List<List<float[]>> batch = run(base, List.of(PROMPT, OTHER, PROMPT, OTHER), new int[] {2, 0, 1, 1}, 10);
            assertClose(batch.get(0), run(refAttention, List.of(PROMPT), null, 10).getFirst());
            assertClose(batch.get(1), run(plain, List.of(OTHER), null, 10).getFirst());
            assertClose(batch.get(2), run(refAll, List.of(PROMPT), null, 10).getFirst());
            assertClose(batch.get(3), run(refAll, List.of(OTHER), null, 10).getFirst());
        }
    }

    @Test
    void whatIsNotALoraOfThisModelIsRefusedNamingWhy() throws IOException {
        ModelConfig c;
        try (LanguageModel<?> base = ModelLoader.load(gguf)) {
            c = base.config();
        }
        Path dora = copy(all, "dora");
        Files.writeString(dora.resolve("adapter_config.json"), """
                {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "use_dora": true}""");
        assertThatThrownBy(() -> LoraAdapter.load("d", dora, c)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("use_dora");
        Path saved = copy(all, "saved");
        Files.writeString(saved.resolve("adapter_config.json"), """
                {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "modules_to_save": ["lm_head"]}""");
        assertThatThrownBy(() -> LoraAdapter.load("s", saved, c)).hasMessageContaining("modules_to_save");
        Path pickle = dir.resolve("pickle");
        Files.createDirectories(pickle);
        Files.copy(all.resolve("adapter_config.json"), pickle.resolve("adapter_config.json"));
        Files.writeString(pickle.resolve("adapter_model.bin"), "not loaded");
        assertThatThrownBy(() -> LoraAdapter.load("p", pickle, c)).hasMessageContaining("pickle");
        ModelConfig wider = ModelConfig.llama(128, 5, 8, 4, 172, 512, 512);
        assertThatThrownBy(() -> LoraAdapter.load("w", all, wider)).hasMessageContaining("another model");
        assertThatThrownBy(() -> LoraAdapter.load("none", dir.resolve("absent"), c))
                .hasMessageContaining("adapter_config.json");
        assertThatThrownBy(() -> LoraAdapter.load("model", gguf, c)).hasMessageContaining("not a LoRA adapter");
        ModelConfig qwen = c.withFeatures("qwen2", true, c.features());
        assertThatThrownBy(() -> LoraAdapter.load("arch", allGguf, qwen)).hasMessageContaining("adapts a llama model");
    }

    private static Path copy(Path from, String name) throws IOException {
        Path to = dir.resolve(name);
        Files.createDirectories(to);
        Files.copy(from.resolve("adapter_model.safetensors"), to.resolve("adapter_model.safetensors"));
        return to;
    }

    /**
     * Each prompt (sequence s with adapter {@code adapters[s]}, null: none) prefilled in one step, then
     * {@code steps - 1} greedy decode steps of them all together; each sequence's logits at each step.
     */
    static <C extends KvCache> List<List<float[]>> run(LanguageModel<C> m, List<int[]> prompts, int[] adapters,
            int steps) {
        int blockSize = 16, perSeq = 4;
        C cache = m.newKvCache(prompts.size() * perSeq, blockSize);
        int n = prompts.size();
        int[][] tables = new int[n][perSeq];
        for (int s = 0; s < n; s++) for (int b = 0; b < perSeq; b++) tables[s][b] = (n - 1 - s) * perSeq + b;
        List<List<float[]>> out = new ArrayList<>();
        for (int s = 0; s < n; s++) out.add(new ArrayList<>());
        int[] length = new int[n], last = new int[n];
        List<Integer> tokens = new ArrayList<>(), positions = new ArrayList<>();
        int[] queryStart = new int[n + 1];
        for (int s = 0; s < n; s++) {
            for (int t : prompts.get(s)) {
                tokens.add(t);
                positions.add(length[s]++);
            }
            queryStart[s + 1] = tokens.size();
        }
        for (int step = 0; step < steps; step++) {
            int[] tok = tokens.stream().mapToInt(Integer::intValue).toArray();
            int[] pos = positions.stream().mapToInt(Integer::intValue).toArray();
            int[] slots = new int[tok.length];
            for (int s = 0; s < n; s++) {
                for (int t = queryStart[s]; t < queryStart[s + 1]; t++) {
                    slots[t] = tables[s][pos[t] / blockSize] * blockSize + pos[t] % blockSize;
                }
            }
            float[][] logits = m.forward(new ForwardBatch(tok, pos, slots, queryStart.clone(), tables, null,
                    adapters), cache);
            tokens.clear();
            positions.clear();
            for (int s = 0; s < n; s++) {
                out.get(s).add(logits[s].clone());
                last[s] = argmax(logits[s]);
                tokens.add(last[s]);
                positions.add(length[s]++);
                queryStart[s + 1] = s + 1;
            }
        }
        return out;
    }

    private static void assertClose(List<float[]> actual, List<float[]> expected) {
        assertThat(argmaxes(actual)).isEqualTo(argmaxes(expected));
        for (int step = 0; step < expected.size(); step++) {
            float[] a = actual.get(step), e = expected.get(step);
            for (int i = 0; i < e.length; i++) {
                assertThat(a[i]).as("step %d logit %d", step, i).isCloseTo(e[i],
                        org.assertj.core.data.Offset.offset(2e-4f * Math.max(1, Math.abs(e[i]))));
            }
        }
    }

    private static List<Integer> argmaxes(List<float[]> steps) {
        return steps.stream().map(LoraAdapterTest::argmax).toList();
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
