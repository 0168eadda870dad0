package io.quire.model.tokenizer;

import io.quire.model.gguf.GgufMetadata;
import io.quire.model.gguf.GgufValueType;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The factory, on small hand-made vocabularies. */
class TokenizersTest {
    private static GgufMetadata.Entry str(String s) { return new GgufMetadata.Entry(GgufValueType.STRING, null, s); }

    private static GgufMetadata.Entry strs(String... s) { return new GgufMetadata.Entry(GgufValueType.ARRAY,
            GgufValueType.STRING, s); }

    private static GgufMetadata.Entry ints(int... v) { return new GgufMetadata.Entry(GgufValueType.ARRAY,
            GgufValueType.INT32, v); }

    private static GgufMetadata.Entry floats(float... v) { return new GgufMetadata.Entry(GgufValueType.ARRAY,
            GgufValueType.FLOAT32, v); }

    private static GgufMetadata.Entry bool(boolean b) { return new GgufMetadata.Entry(GgufValueType.BOOL, null, b); }

    private static GgufMetadata.Entry u32(long v) { return new GgufMetadata.Entry(GgufValueType.UINT32, null, v); }

    /** A tiny SPM vocabulary: pieces chosen so that scores decide the merge order. */
    private static Map<String, GgufMetadata.Entry> spm() {
        Map<String, GgufMetadata.Entry> m = new LinkedHashMap<>();
        m.put("tokenizer.ggml.model", str("llama"));
        m.put("tokenizer.ggml.tokens",
                strs("<unk>", "<s>", "</s>", "a", "b", "c", "ab", "bc", "\u2581", "<|im_end|>", "[X]", "abc"));
        m.put("tokenizer.ggml.token_type", ints(2, 3, 3, 1, 1, 1, 1, 1, 1, 3, 4, 1));
        m.put("tokenizer.ggml.scores", floats(0, 0, 0, -1, -1, -1, -5, -2, -1, 0, 0, -3));
        return m;
    }

    @Test
    void unknownModelIsRejectedByName() {
        Map<String, GgufMetadata.Entry> m = spm();
        m.put("tokenizer.ggml.model", str("bert"));
        assertThatThrownBy(() -> Tokenizers.fromGguf(new GgufMetadata(m)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'bert'");
        m.remove("tokenizer.ggml.model");
        assertThatThrownBy(() -> Tokenizers.fromGguf(new GgufMetadata(m)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokenizer.ggml.model");
    }

    @Test
    void spmMergesHighestScoreFirst() {
        Map<String, GgufMetadata.Entry> m = spm();
        m.put("tokenizer.ggml.add_space_prefix", bool(false));
        Tokenizer t = Tokenizers.fromGguf(new GgufMetadata(m));
        // "bc" (-2) beats "ab" (-5); then "a"+"bc" = "abc" (-3) exists.
        assertThat(t.encode("abc", false, false)).containsExactly(11);
        // "ab" then "c": "bc" wins first, leaving a, bc -> abc; with "abca": abc + a.
        assertThat(t.encode("abca", false, false)).containsExactly(11, 3);
        // Unknown characters with no byte tokens become <unk>.
        assertThat(t.encode("z", false, false)).containsExactly(0);
        assertThat(t.addBos()).isTrue();
        assertThat(t.encode("a", true, false)).containsExactly(1, 3);
    }

    @Test
    void userDefinedTokensAreAlwaysSplitOutControlTokensOnlyWhenParsing() {
        Map<String, GgufMetadata.Entry> m = spm();
        m.put("tokenizer.ggml.add_space_prefix", bool(false));
        Tokenizer t = Tokenizers.fromGguf(new GgufMetadata(m));
        assertThat(t.encode("a[X]b", false, false)).containsExactly(3, 10, 4);
        assertThat(t.encode("a</s>b", false, true)).containsExactly(3, 2, 4);
        assertThat(t.encode("a</s>b", false, false)).doesNotContain(2);
        assertThat(t.decode(new int[] {3, 10, 4, 2})).isEqualTo("a[X]b");
    }

    @Test
    void endOfGenerationIncludesNamedEndOfTurnControlTokens() {
        Map<String, GgufMetadata.Entry> m = spm();
        m.put("tokenizer.ggml.eos_token_id", u32(2));
        m.put("tokenizer.ggml.bos_token_id", u32(1));
        Tokenizer t = Tokenizers.fromGguf(new GgufMetadata(m));
        assertThat(t.endOfGenerationIds()).containsExactlyInAnyOrder(2, 9);
    }

    @Test
    void outOfRangeSpecialIdIsRejected() {
        Map<String, GgufMetadata.Entry> m = spm();
        m.put("tokenizer.ggml.eos_token_id", u32(99));
        assertThatThrownBy(() -> Tokenizers.fromGguf(new GgufMetadata(m)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eos_token_id");
    }

    @Test
    void bpeNeedsMerges() {
        Map<String, GgufMetadata.Entry> m = new LinkedHashMap<>();
        m.put("tokenizer.ggml.model", str("gpt2"));
        m.put("tokenizer.ggml.tokens", strs("a", "b", "ab"));
        assertThatThrownBy(() -> Tokenizers.fromGguf(new GgufMetadata(m)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merges");
        m.put("tokenizer.ggml.merges", strs("a b"));
        m.put("tokenizer.ggml.pre", str("llama-bpe"));
        Tokenizer t = Tokenizers.fromGguf(new GgufMetadata(m));
        assertThat(t.encode("abab", true, false)).containsExactly(2, 2); // no BOS: gpt2 default, none set
    }
}
