package io.quire.model.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** llama.cpp's tokenizer test vectors (reference ids from the Hugging Face tokenizers), no BOS. */
class VocabFileTest {
    static List<VocabFixtures.Case> llamaSpmCases() { return VocabFixtures.cases("vocab/ggml-vocab-llama-spm.gguf"); }

    static List<VocabFixtures.Case> gpt2Cases() { return VocabFixtures.cases("vocab/ggml-vocab-gpt-2.gguf"); }

    @ParameterizedTest(name = "llama-spm {0}")
    @MethodSource("llamaSpmCases")
    void llamaSpmMatchesReference(VocabFixtures.Case c) {
        assertThat(VocabFixtures.llamaSpm().encode(c.text(), false, false)).containsExactly(c.expected());
    }

    @ParameterizedTest(name = "gpt-2 {0}")
    @MethodSource("gpt2Cases")
    void gpt2MatchesReference(VocabFixtures.Case c) {
        assertThat(VocabFixtures.gpt2().encode(c.text(), false, false)).containsExactly(c.expected());
    }

    @ParameterizedTest(name = "llama-spm {0}")
    @MethodSource("llamaSpmCases")
    void llamaSpmDecodesBackAfterBos(VocabFixtures.Case c) {
        Tokenizer t = VocabFixtures.llamaSpm();
        // With BOS, decode removes exactly the space the tokenizer prefixed.
        assertThat(t.decode(t.encode(c.text(), true, false))).isEqualTo(c.text());
    }

    @ParameterizedTest(name = "gpt-2 {0}")
    @MethodSource("gpt2Cases")
    void gpt2DecodesBack(VocabFixtures.Case c) {
        Tokenizer t = VocabFixtures.gpt2();
        assertThat(t.decode(t.encode(c.text(), false, false))).isEqualTo(c.text());
    }
}
