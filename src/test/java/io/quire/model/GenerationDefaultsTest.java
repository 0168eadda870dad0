package io.quire.model;

import io.quire.backend.TensorType;
import io.quire.engine.SamplingParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** generation_config.json: sampling defaults and end-of-generation ids of a Hugging Face folder. */
class GenerationDefaultsTest {
    @TempDir
    Path dir;

    @Test
    void absentFileGivesNone() throws Exception {
        assertThat(GenerationDefaults.read(dir)).isEqualTo(GenerationDefaults.NONE);
    }

    @Test
    void readsSamplingFieldsAndAListOfEosIds() throws Exception {
        Files.writeString(dir.resolve("generation_config.json"), """
                {"bos_token_id": 128000, "do_sample": true, "eos_token_id": [128001, 128008, 128009],
                 "temperature": 0.6, "top_p": 0.9, "top_k": 20, "transformers_version": "4.45.0"}""");
        GenerationDefaults g = GenerationDefaults.read(dir);
        assertThat(g).isEqualTo(new GenerationDefaults(0.6f, 0.9f, 20, null, null, List.of(128001, 128008, 128009)));
        SamplingParams p = SamplingParams.defaults(16, g);
        assertThat(p.temperature()).isEqualTo(0.6f);
        assertThat(p.topP()).isEqualTo(0.9f);
        assertThat(p.topK()).isEqualTo(20);
        assertThat(p.minP()).isEqualTo(SamplingParams.defaults(16).minP());
        assertThat(p.maxTokens()).isEqualTo(16);
    }

    @Test
    void readsOneEosId() throws Exception {
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": 2, \"repetition_penalty\": 1.1}");
        GenerationDefaults g = GenerationDefaults.read(dir);
        assertThat(g.eosTokenIds()).containsExactly(2);
        assertThat(g.repetitionPenalty()).isEqualTo(1.1f);
    }

    /** A value a request could not carry stops the load, naming the file, the field and its range. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
            "\"top_p\": 1.5             | top_p must be in (0, 1], got 1.5",
            "\"top_p\": 0               | top_p must be in (0, 1], got 0.0",
            "\"temperature\": -0.1      | temperature must be non-negative, got -0.1",
            "\"top_k\": -2              | top_k must be -1 or 0 (off), or at least 1, got -2",
            "\"min_p\": 2               | min_p must be in [0, 1], got 2.0",
            "\"repetition_penalty\": 0  | repetition_penalty must be greater than zero, got 0.0"})
    void outOfRangeValuesAreRefusedAtLoad(String field, String message) throws Exception {
        Files.writeString(dir.resolve("generation_config.json"), "{" + field + "}");
        assertThatThrownBy(() -> GenerationDefaults.read(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("generation_config.json: " + message);
    }

    @Test
    void badEosIdIsRefused() throws Exception {
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": \"</s>\"}");
        assertThatThrownBy(() -> GenerationDefaults.read(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("eos_token_id \"</s>\" is not a token id");
    }

    @Test
    void eosIdsEndGenerationOfTheLoadedFolder(@TempDir Path tmp) throws Exception {
        Path gguf = tmp.resolve("m.gguf");
        RandomModels.write(TinyModels.CONFIG, TensorType.F32, 3, gguf);
        Path folder = HfCheckpoints.write(gguf, tmp.resolve("m"), TensorType.F32, 1, null);
        Files.writeString(folder.resolve("generation_config.json"), "{\"eos_token_id\": [2, 300], \"top_k\": 3}");
        try (LanguageModel<?> m = ModelLoader.load(folder)) {
            assertThat(m.tokenizer().endOfGenerationIds()).containsExactly(2, 300);
            assertThat(m.generationDefaults().topK()).isEqualTo(3);
        }
        Files.writeString(folder.resolve("generation_config.json"), "{\"eos_token_id\": 9999}");
        assertThatThrownBy(() -> ModelLoader.load(folder)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("generation_config.json: end-of-generation id 9999 is outside the vocabulary");
    }
}
