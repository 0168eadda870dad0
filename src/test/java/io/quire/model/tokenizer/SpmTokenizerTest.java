package io.quire.model.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** SentencePiece BPE on the real stories260K model and the Llama 2 vocabulary. */
class SpmTokenizerTest {
    /** Reference continuation from /work/shared/models/README.md (llama.cpp, greedy). */
    private static final int[] CONTINUATION = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396,
            267, 337,
            410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394};

    @Test
    void stories260KTokenizesTheReferencePrompt() {
        Tokenizer t = VocabFixtures.stories260K();
        assertThat(t.encode("Once upon a time", true, false)).containsExactly(1, 403, 407, 261, 378);
        assertThat(t.encode("Once upon a time")).containsExactly(1, 403, 407, 261, 378);
        assertThat(t.encode("Once upon a time", false, false)).containsExactly(403, 407, 261, 378);
        assertThat(t.piece(403)).isEqualTo("\u2581Once");
    }

    @Test
    void stories260KDecodesTheReferenceContinuation() {
        Tokenizer t = VocabFixtures.stories260K();
        assertThat(t.decode(CONTINUATION))
                .isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, "
                + "she saw");
        // The whole sequence from BOS decodes to the prompt plus the continuation, without the prefixed space.
        int[] all = new int[5 + CONTINUATION.length];
        System.arraycopy(new int[] {1, 403, 407, 261, 378}, 0, all, 0, 5);
        System.arraycopy(CONTINUATION, 0, all, 5, CONTINUATION.length);
        assertThat(t.decode(all)).startsWith("Once upon a time, there was a little girl named Lily.");
    }

    @Test
    void stories260KSpecialIds() {
        Tokenizer t = VocabFixtures.stories260K();
        assertThat(t.vocabSize()).isEqualTo(512);
        assertThat(t.bosId()).isEqualTo(1);
        assertThat(t.eosId()).isEqualTo(2);
        assertThat(t.addBos()).isTrue();
        assertThat(t.endOfGenerationIds()).containsExactly(2);
        assertThat(t.isSpecial(1)).isTrue();
        assertThat(t.isSpecial(403)).isFalse();
        assertThat(t.tokenBytes(1)).isEmpty();
        assertThat(t.tokenBytes(3 + 'A')).containsExactly('A'); // <0x41>
        assertThat(t.tokenBytes(403)).isEqualTo(" Once".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void charactersOutsideTheVocabularyFallBackToByteTokens() {
        Tokenizer t = VocabFixtures.stories260K();
        // U+1F999 (llama) is F0 9F A6 99; the 512-token vocabulary has no piece for it.
        int[] ids = t.encode("\uD83E\uDD99", false, false);
        assertThat(Arrays.stream(ids).mapToObj(t::piece).toList())
                .containsExactly("\u2581", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>");
        assertThat(t.decode(SpmTokenizerTest.concat(new int[] {1}, ids))).isEqualTo("\uD83E\uDD99");
    }

    @Test
    void parseSpecialSplitsControlTokensOut() {
        Tokenizer t = VocabFixtures.llamaSpm();
        int eos = t.eosId();
        assertThat(t.piece(eos)).isEqualTo("</s>");
        int[] parsed = t.encode("Hello</s>world", false, true);
        int[] plain = t.encode("Hello</s>world", false, false);
        assertThat(parsed).containsOnlyOnce(eos);
        assertThat(plain).doesNotContain(eos);
        assertThat(plain.length).isGreaterThan(parsed.length);
        // Before the control token: "▁Hello"; after it llama.cpp prefixes a space again.
        assertThat(parsed).containsExactly(concat(t.encode("Hello", false, false), new int[] {eos},
                t.encode("world", false, false)));
        // A text that is only the control token.
        assertThat(t.encode("</s>", true, true)).containsExactly(t.bosId(), eos);
    }

    @Test
    void emptyTextIsJustBos() {
        Tokenizer t = VocabFixtures.llamaSpm();
        assertThat(t.encode("", true, false)).containsExactly(1);
        assertThat(t.encode("", false, false)).isEmpty();
    }

    @Test
    void outOfRangeIdsAreRejectedWithAClearMessage() {
        Tokenizer t = VocabFixtures.stories260K();
        assertThatThrownBy(() -> t.tokenBytes(512)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("512");
        assertThatThrownBy(() -> t.decode(new int[] {5, -1})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1");
    }

    @Test
    void longTextRoundTrips() {
        Tokenizer t = VocabFixtures.llamaSpm();
        StringBuilder sb = new StringBuilder();
        java.util.Random random = new java.util.Random(42);
        String[] words = {"the", "quick", "brown", "fox", "jumps", "über", "naïve", "日本語", "🦙", "  ", "\n", "x=1;",
                "(a, b)"};
        while (sb.length() < 4096) sb.append(words[random.nextInt(words.length)])
                .append(random.nextBoolean() ? " " : "");
        String text = sb.toString();
        int[] ids = t.encode(text, true, false);
        assertThat(t.decode(ids)).isEqualTo(text);
    }

    static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }
}
