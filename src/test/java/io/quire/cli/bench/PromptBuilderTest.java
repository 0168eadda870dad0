package io.quire.cli.bench;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class PromptBuilderTest {

    /** A stand-in tokenizer: one BOS, and ceil(length / 2) tokens per word, so "a" is 1 token and "the" 2. */
    private static final class HalfLengthCounter implements TokenCounter {
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public int count(String text) {
            calls.incrementAndGet();
            int tokens = 1;
            for (String w : text.strip().split("\\s+")) {
                if (!w.isEmpty()) tokens += (w.length() + 1) / 2;
            }
            return tokens;
        }

        @Override
        public String describe() {
            return "half-length";
        }
    }

    @Test
    void calibrationFindsSpecialTokensAndSingleTokenWords() {
        PromptBuilder b = PromptBuilder.calibrate(new HalfLengthCounter());
        assertThat(b.specialTokens()).isEqualTo(1);
        assertThat(b.vocabulary()).isNotEmpty().allSatisfy(w -> assertThat(w.length()).isLessThanOrEqualTo(2));
    }

    @Test
    void promptsHaveExactlyTheRequestedLength() {
        HalfLengthCounter counter = new HalfLengthCounter();
        PromptBuilder b = PromptBuilder.calibrate(counter);
        Random rng = new Random(9);
        PromptBuilder.Prompt none = b.prefix(0, rng);
        for (int target : new int[] {2, 3, 17, 128, 1000}) {
            PromptBuilder.Prompt p = b.build(none, target, rng);
            assertThat(p.tokens()).isEqualTo(target);
            assertThat(counter.count(p.text())).isEqualTo(target);
        }
    }

    @Test
    void aSharedPrefixStartsEveryPromptAndCountsItsOwnTokens() {
        HalfLengthCounter counter = new HalfLengthCounter();
        PromptBuilder b = PromptBuilder.calibrate(counter);
        Random rng = new Random(4);
        PromptBuilder.Prompt prefix = b.prefix(64, rng);
        assertThat(prefix.tokens()).isEqualTo(64);
        assertThat(counter.count(prefix.text())).isEqualTo(64 + 1);
        PromptBuilder.Prompt p1 = b.build(prefix, 64 + 20, rng);
        PromptBuilder.Prompt p2 = b.build(prefix, 64 + 20, rng);
        assertThat(p1.text()).startsWith(prefix.text() + " ");
        assertThat(p2.text()).startsWith(prefix.text() + " ");
        assertThat(p1.text()).isNotEqualTo(p2.text());
        assertThat(p1.tokens()).isEqualTo(84);
        assertThat(counter.count(p2.text())).isEqualTo(84);
    }

    @Test
    void sameSeedSamePrompts() {
        PromptBuilder b = PromptBuilder.calibrate(new WordCountTokenCounter());
        PromptBuilder.Prompt none = b.prefix(0, new Random(0));
        assertThat(b.build(none, 50, new Random(1))).isEqualTo(b.build(none, 50, new Random(1)));
        assertThat(b.build(none, 50, new Random(1))).isNotEqualTo(b.build(none, 50, new Random(2)));
    }

    @Test
    void withoutATokenizerOneWordIsOneToken() {
        PromptBuilder b = PromptBuilder.calibrate(new WordCountTokenCounter());
        assertThat(b.specialTokens()).isZero();
        PromptBuilder.Prompt p = b.build(b.prefix(0, new Random(0)), 32, new Random(3));
        assertThat(p.text().split(" ")).hasSize(32);
        assertThat(p.tokens()).isEqualTo(32);
    }

    @Test
    void anUnreachableLengthGivesTheClosestShorterPrompt() {
        // every word costs two tokens after a BOS: only odd totals exist
        TokenCounter even = new TokenCounter() {
            @Override
            public int count(String text) {
                String s = text.strip();
                return 1 + (s.isEmpty() ? 0 : 2 * s.split("\\s+").length);
            }

            @Override
            public String describe() {
                return "two per word";
            }
        };
        PromptBuilder b = PromptBuilder.calibrate(even);
        PromptBuilder.Prompt p = b.build(b.prefix(0, new Random(0)), 40, new Random(0));
        assertThat(p.tokens()).isEqualTo(39);
        assertThat(even.count(p.text())).isEqualTo(39);
    }

    @Test
    void aPromptAlwaysHoldsAWord() {
        PromptBuilder b = PromptBuilder.calibrate(new HalfLengthCounter());
        PromptBuilder.Prompt p = b.build(b.prefix(0, new Random(0)), 1, new Random(0));
        assertThat(p.text()).isNotBlank();
        assertThat(p.tokens()).isEqualTo(2);
    }
}
