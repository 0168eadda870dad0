package io.quire.model.tokenizer;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Pre-tokenizer splits, with expectations derived by hand from the upstream regex semantics
 * (there is no Llama 3 / Qwen2 vocabulary file to check against).
 */
class PreTokenizerTest {
    private final PreTokenizer llama3 = PreTokenizer.forName("llama-bpe");
    private final PreTokenizer qwen2 = PreTokenizer.forName("qwen2");
    private final PreTokenizer gpt2 = PreTokenizer.forName("gpt-2");

    @Test
    void llama3GroupsDigitsByThreeAndKeepsNewlineRuns() {
        // " " before digits is a lone \s+ match; "\n\n" is \s*[\r\n]+; of "  ok" the first space is
        // \s+(?!\S) and the second joins the word.
        assertThat(llama3.split("I've 12345 apples\n\n  ok"))
                .containsExactly("I", "'ve", " ", "123", "45", " apples", "\n\n", " ", " ok");
    }

    @Test
    void qwen2SplitsEveryDigit() {
        assertThat(qwen2.split("I've 12345 apples\n\n  ok"))
                .containsExactly("I", "'ve", " ", "1", "2", "3", "4", "5", " apples", "\n\n", " ", " ok");
    }

    @Test
    void contractionsAreCaseInsensitiveForLlama3ButNotGpt2() {
        assertThat(llama3.split("DON'T we'LL")).containsExactly("DON", "'T", " we", "'LL");
        assertThat(qwen2.split("DON'T")).containsExactly("DON", "'T");
        assertThat(gpt2.split("DON'T we'll")).containsExactly("DON", "'", "T", " we", "'ll");
    }

    @Test
    void llama3AttachesOnePunctuationCharacterToAWordAndNewlinesToPunctuation() {
        assertThat(llama3.split("(hello) Hi!!\n\nyo")).containsExactly("(hello", ")", " Hi", "!!\n\n", "yo");
        // GPT-2: \s+(?!\S) takes the first newline only; the second matches nothing and stays a piece of its own.
        assertThat(gpt2.split("(hello) Hi!!\n\nyo")).containsExactly("(", "hello", ")", " Hi", "!!", "\n", "\n", "yo");
    }

    @Test
    void trailingWhitespaceAndUnicodeLetters() {
        assertThat(llama3.split("héllo wörld  ")).containsExactly("héllo", " wörld", "  ");
        assertThat(llama3.split("日本語 123456789")).containsExactly("日本語", " ", "123", "456", "789");
        assertThat(qwen2.split("x\t\ty")).containsExactly("x", "\t", "\ty");
    }

    @Test
    void whiteSpaceIsUnicodeWhiteSpace() {
        // U+00A0 is white space: each no-break space is its own piece, not a run of "punctuation".
        assertThat(gpt2.split("a\u00A0\u00A0b")).containsExactly("a", "\u00A0", "\u00A0", "b");
    }

    @Test
    void smollmSplitsDigitsBeforeGpt2sPattern() {
        PreTokenizer smollm = PreTokenizer.forName("smollm");
        assertThat(smollm.split("abc123 x")).containsExactly("abc", "1", "2", "3", " x");
    }

    @Test
    void unknownNamesFallBackToGpt2() {
        PreTokenizer other = PreTokenizer.forName("some-new-model");
        assertThat(other.name()).isEqualTo("some-new-model");
        assertThat(other.split("DON'T 12345")).isEqualTo(gpt2.split("DON'T 12345"))
                .containsExactly("DON", "'", "T", " 12345");
    }

    @Test
    void piecesConcatenateToTheInput() {
        String text = "  Hello,\tworld!! 1234567 'tis\r\n\r\n — ünïcödé 🦙🦙  end  ";
        for (String name : new String[] {"gpt-2", "llama-bpe", "qwen2", "smollm", "default", "falcon"}) {
            assertThat(String.join("", PreTokenizer.forName(name).split(text))).as(name).isEqualTo(text);
        }
        assertThat(llama3.split("")).isEmpty();
    }
}
