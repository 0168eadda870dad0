package io.quire.model.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StreamingDetokenizerTest {
    @Test
    void emojiSplitOverByteTokensComesOutWholeAndOnlyWhenComplete() {
        Tokenizer t = VocabFixtures.llamaSpm();
        int[] ids = t.encode("I 🦙 you", false, false);
        List<String> pieces = new ArrayList<>();
        for (int id : ids) pieces.add(t.piece(id));
        assertThat(pieces).containsSubsequence("<0xF0>", "<0x9F>", "<0xA6>", "<0x99>");

        StreamingDetokenizer d = new StreamingDetokenizer(t);
        StringBuilder all = new StringBuilder();
        for (int id : ids) {
            String out = d.add(id);
            String p = t.piece(id);
            if (p.equals("<0xF0>") || p.equals("<0x9F>") || p.equals("<0xA6>")) {
                assertThat(out).as("after %s", p).isEmpty();
            } else if (p.equals("<0x99>")) {
                assertThat(out).isEqualTo("🦙");
            }
            all.append(out);
        }
        all.append(d.flush());
        assertThat(all.toString()).isEqualTo(t.decode(ids)).isEqualTo(" I 🦙 you");
    }

    @Test
    void byteLevelPiecesSplittingACharacterAreHeldBack() {
        Tokenizer t = VocabFixtures.gpt2();
        String text = "ied 4 ½ months 🦙 ဂျ 你好世界 🚀 (normal) 😶‍🌫️";
        int[] ids = t.encode(text, false, false);
        StreamingDetokenizer d = new StreamingDetokenizer(t);
        StringBuilder all = new StringBuilder();
        for (int id : ids) {
            String out = d.add(id);
            assertThat(out).doesNotContain("\uFFFD");
            all.append(out);
        }
        all.append(d.flush());
        assertThat(all.toString()).isEqualTo(t.decode(ids)).isEqualTo(text);
    }

    @Test
    void streamKeepsTheLeadingSpaceAfterBos() {
        Tokenizer t = VocabFixtures.stories260K();
        StreamingDetokenizer d = new StreamingDetokenizer(t);
        StringBuilder sb = new StringBuilder();
        for (int id : new int[] {1, 403, 407, 261, 378}) sb.append(d.add(id));
        assertThat(sb.toString()).isEqualTo(" Once upon a time");
        assertThat(t.decode(new int[] {1, 403, 407, 261, 378})).isEqualTo("Once upon a time");
    }

    @Test
    void specialTokensAreSkippedUnlessAskedFor() {
        Tokenizer t = VocabFixtures.gpt2();
        int eot = ((VocabTokenizer) t).tokenId("<|endoftext|>");
        assertThat(new StreamingDetokenizer(t).add(eot)).isEmpty();
        assertThat(new StreamingDetokenizer(t, false).add(eot)).isEqualTo("<|endoftext|>");
    }

    @Test
    void unfinishedOrInvalidBytesBecomeReplacementCharacters() {
        Tokenizer t = VocabFixtures.stories260K();
        int f0 = t.encode("x", false, false).length; // warm-up, keeps the tokenizer loaded
        assertThat(f0).isPositive();
        StreamingDetokenizer d = new StreamingDetokenizer(t);
        assertThat(d.add(3 + 0xF0)).isEmpty();          // lead of a 4-byte character: held
        assertThat(d.add(3 + 0x9F)).isEmpty();
        assertThat(d.flush()).isEqualTo("\uFFFD");        // never completed
        assertThat(d.add(3 + 0x80)).isEqualTo("\uFFFD");  // a stray continuation byte cannot start anything
        assertThat(d.add(3 + 0xE0)).isEmpty();
        assertThat(d.add(3 + 0x41)).isEqualTo("\uFFFDA"); // the held lead is broken by an ASCII byte
        assertThat(d.flush()).isEmpty();
    }

    @Test
    void incompleteTailRespectsSecondByteRanges() {
        assertThat(StreamingDetokenizer.incompleteTail(new byte[] {(byte) 0xE0, (byte) 0xA0}, 2)).isEqualTo(2);
        assertThat(StreamingDetokenizer.incompleteTail(new byte[] {(byte) 0xE0, (byte) 0x80}, 2)).isZero(); // overlong
        assertThat(StreamingDetokenizer.incompleteTail(new byte[] {(byte) 0xED, (byte) 0xA0}, 2)).isZero(); // surrogate
        // > U+10FFFF
        assertThat(StreamingDetokenizer.incompleteTail(new byte[] {(byte) 0xF4, (byte) 0x90}, 2)).isZero();
        assertThat(StreamingDetokenizer.incompleteTail(new byte[] {'a', (byte) 0xC3}, 2)).isEqualTo(1);
        assertThat(StreamingDetokenizer.incompleteTail(new byte[] {(byte) 0xC3, (byte) 0xA9}, 2)).isZero();
        assertThat(StreamingDetokenizer.incompleteTail(new byte[] {(byte) 0xC0}, 1)).isZero(); // never valid
    }
}
