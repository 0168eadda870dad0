package io.quire.model.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Byte-level BPE on the GPT-2 vocabulary. */
class BpeTokenizerTest {
    @Test
    void specialIdsAndDefaults() {
        Tokenizer t = VocabFixtures.gpt2();
        assertThat(t.vocabSize()).isEqualTo(50257);
        int eot = ((VocabTokenizer) t).tokenId("<|endoftext|>");
        assertThat(eot).isEqualTo(50256);
        assertThat(t.addBos()).isFalse();
        assertThat(t.endOfGenerationIds()).contains(eot);
        assertThat(t.encode("Hello world")).containsExactly(15496, 995); // no BOS for gpt2 by default
        assertThat(((BpeTokenizer) t).preTokenizer().name()).isEqualTo("gpt-2");
    }

    @Test
    void decodesTheByteMapping() {
        Tokenizer t = VocabFixtures.gpt2();
        assertThat(t.piece(995)).isEqualTo("\u0120world");
        assertThat(t.tokenBytes(995)).isEqualTo(" world".getBytes(StandardCharsets.UTF_8));
        assertThat(t.decode(new int[] {15496, 11, 995, 0})).isEqualTo("Hello, world!");
    }

    @Test
    void parseSpecialSplitsControlTokensOut() {
        Tokenizer t = VocabFixtures.gpt2();
        int eot = ((VocabTokenizer) t).tokenId("<|endoftext|>");
        assertThat(t.isSpecial(eot)).isTrue();
        int[] parsed = t.encode("Hi<|endoftext|>Bye", false, true);
        int[] plain = t.encode("Hi<|endoftext|>Bye", false, false);
        assertThat(parsed).containsExactly(SpmTokenizerTest.concat(t.encode("Hi", false, false), new int[] {eot},
                t.encode("Bye", false, false)));
        assertThat(plain).doesNotContain(eot).hasSizeGreaterThan(3);
        assertThat(t.decode(plain)).isEqualTo("Hi<|endoftext|>Bye");
        assertThat(t.decode(parsed)).isEqualTo("HiBye"); // control tokens decode to nothing
    }

    @Test
    void randomUnicodeRoundTrips() {
        Tokenizer t = VocabFixtures.gpt2();
        Random random = new Random(7);
        for (int round = 0; round < 50; round++) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 200; i++) {
                int cp = switch (random.nextInt(4)) {
                    case 0 -> 0x20 + random.nextInt(0x5F);
                    case 1 -> 0xA0 + random.nextInt(0x700);
                    case 2 -> 0x3040 + random.nextInt(0x6000);
                    default -> 0x1F300 + random.nextInt(0x300);
                };
                sb.appendCodePoint(cp);
            }
            String text = sb.toString();
            assertThat(t.decode(t.encode(text, false, false))).isEqualTo(text);
        }
    }
}
