package io.quire.model.tokenizer;

import io.quire.SharedFiles;
import io.quire.model.gguf.GgufFile;
import io.quire.model.gguf.GgufMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code tokenizer.json} written from the shared GGUF vocabularies the way transformers' converters
 * write it, read back by {@link TokenizerJson}: on llama.cpp's test vectors it gives the reference
 * ids (from the Hugging Face tokenizers), the same ids as the GGUF tokenizer.
 */
class TokenizerJsonTest {
    private static final Map<String, Tokenizer> CACHE = new ConcurrentHashMap<>();

    static List<VocabFixtures.Case> llamaSpmCases() { return VocabFileTest.llamaSpmCases(); }

    static List<VocabFixtures.Case> gpt2Cases() { return VocabFileTest.gpt2Cases(); }

    /** The tokenizer.json tokenizer of a shared GGUF vocabulary (written once per JVM). */
    static Tokenizer fromJson(String relative) {
        Path gguf = SharedFiles.require(relative);
        return CACHE.computeIfAbsent(relative, r -> {
            try (GgufFile f = GgufFile.open(gguf)) {
                Path dir = Files.createTempDirectory("quire-tokenizer-json-");
                HfTokenizerFiles.write(f.metadata(), dir, null);
                Tokenizer t = TokenizerJson.load(dir, 0);
                try (var files = Files.list(dir)) {
                    for (Path p : files.toList()) Files.delete(p);
                }
                Files.delete(dir);
                return t;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @ParameterizedTest(name = "llama-spm {0}")
    @MethodSource("llamaSpmCases")
    void llamaSpmMatchesReference(VocabFixtures.Case c) {
        int[] ids = fromJson("vocab/ggml-vocab-llama-spm.gguf").encode(c.text(), false, false);
        assertThat(ids).containsExactly(c.expected());
        assertThat(ids).containsExactly(VocabFixtures.llamaSpm().encode(c.text(), false, false));
    }

    @ParameterizedTest(name = "gpt-2 {0}")
    @MethodSource("gpt2Cases")
    void gpt2MatchesReference(VocabFixtures.Case c) {
        int[] ids = fromJson("vocab/ggml-vocab-gpt-2.gguf").encode(c.text(), false, false);
        assertThat(ids).containsExactly(c.expected());
        assertThat(ids).containsExactly(VocabFixtures.gpt2().encode(c.text(), false, false));
    }

    @Test
    void specialTokensAndBosComeFromTheConfig() {
        Tokenizer json = fromJson("vocab/ggml-vocab-llama-spm.gguf");
        Tokenizer gguf = VocabFixtures.llamaSpm();
        assertThat(json.bosId()).isEqualTo(gguf.bosId()).isEqualTo(1);
        assertThat(json.eosId()).isEqualTo(gguf.eosId()).isEqualTo(2);
        assertThat(json.addBos()).isTrue();
        assertThat(json.vocabSize()).isEqualTo(gguf.vocabSize());
        // Special tokens split out of the text before the model, as the GGUF tokenizer does.
        assertThat(json.encode("<s>Hello</s>", false, true)).containsExactly(gguf.encode("<s>Hello</s>", false, true));
        assertThat(json.encode("<s>Hello</s>", false, true)[0]).isEqualTo(1);
    }

    @Test
    void vocabularyIsPaddedToTheEmbeddingRows(@TempDir Path dir) throws IOException {
        try (GgufFile f = GgufFile.open(SharedFiles.stories260K())) {
            HfTokenizerFiles.write(f.metadata(), dir, "{{ messages }}");
        }
        GgufMetadata md = TokenizerJson.metadata(dir, 520);
        assertThat(md.getStringArray("tokenizer.ggml.tokens")).hasSize(520).endsWith("[PAD519]");
        assertThat(md.getString("tokenizer.chat_template")).isEqualTo("{{ messages }}");
        assertThat(TokenizerJson.load(dir, 520).encode("Once upon a time")).containsExactly(1, 403, 407, 261, 378);
    }

    @Test
    void refusesAnotherTokenizerModel(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"),
                "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}}");
        assertThatThrownBy(() -> TokenizerJson.load(dir, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Unigram").hasMessageContaining("not supported");
    }

    @Test
    void refusesByteLevelBpeItCannotRunFaithfully(@TempDir Path dir) throws IOException {
        String bpe = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": %s}";
        Files.writeString(dir.resolve("tokenizer.json"), bpe.formatted("null"));
        assertThatThrownBy(() -> TokenizerJson.load(dir, 0))
                .hasMessageContaining("neither byte_fallback nor a ByteLevel pre-tokenizer");
        Files.writeString(dir.resolve("tokenizer.json"),
                bpe.formatted("{\"type\": \"ByteLevel\", \"add_prefix_space\": true}"));
        assertThatThrownBy(() -> TokenizerJson.load(dir, 0)).hasMessageContaining("add_prefix_space");
    }

    /** Which GGUF pre-tokenizer each pre_tokenizer of a published tokenizer.json becomes. */
    @Test
    void preTokenizersAreRecognised() {
        var json = tools.jackson.databind.json.JsonMapper.builder().build();
        Path file = Path.of("tokenizer.json");
        assertThat(HfPreTokenizers.name(json.readTree("""
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}"""), file))
                .isEqualTo("gpt-2");
        assertThat(HfPreTokenizers.name(json.readTree("""
                {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true},
                 {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}]}"""), file))
                .isEqualTo("smollm");
        String split = """
                {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": %s},
                 "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "use_regex": false}]}""";
        assertThat(HfPreTokenizers.name(json.readTree(split.formatted(json.writeValueAsString(
                HfPreTokenizers.LLAMA3_UPSTREAM))), file)).isEqualTo("llama-bpe");
        assertThat(HfPreTokenizers.name(json.readTree(split.formatted(json.writeValueAsString(
                HfPreTokenizers.QWEN2_UPSTREAM))), file)).isEqualTo("qwen2");
        assertThat(PreTokenizer.forName("smollm").split("abc 123")).containsExactly("abc", " ", "1", "2", "3");
    }

    /** Llama 3 style: no add_bos_token, BOS added by the post-processor's template. */
    @Test
    void aPostProcessorTemplateAddsBos(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"added_tokens": [{"id": 3, "content": "<|begin_of_text|>", "special": true}],
                 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
                 "post_processor": {"type": "Sequence", "processors": [
                   {"type": "ByteLevel", "trim_offsets": false},
                   {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|begin_of_text|>",
                     "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}]},
                 "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}}""");
        Tokenizer t = TokenizerJson.load(dir, 0);
        assertThat(t.bosId()).isEqualTo(3);
        assertThat(t.addBos()).isTrue();
        assertThat(t.encode("ab")).containsExactly(3, 2);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"add_bos_token\": false}");
        assertThat(TokenizerJson.load(dir, 0).encode("ab")).containsExactly(2);
    }
}
