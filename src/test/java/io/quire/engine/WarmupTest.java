package io.quire.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quire.SharedFiles;
import io.quire.model.ForwardBatch;
import io.quire.model.LanguageModel;
import io.quire.model.ModelLoader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The warm-up before the first request: what it runs, and that requests after it see none of it. */
class WarmupTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final int[] ONCE_UPON_A_TIME = {1, 403, 407, 261, 378};
    /** llama.cpp's greedy continuation (LLMEngineRealModelTest). */
    private static final List<Integer> REFERENCE = List.of(432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
            401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394);

    @Test
    void withAdaptersEveryOtherSequenceRunsWithOneOfThem() {
        List<ForwardBatch> seen = new ArrayList<>();
        Warmup.run(seen::add, 16, 60, 512, 512, Duration.ZERO, 2);
        List<ForwardBatch> none = new ArrayList<>();
        Warmup.run(none::add, 16, 60, 512, 512, Duration.ZERO, 0);
        assertThat(none).allMatch(b -> b.adapters() == null);
        assertThat(seen).hasSameSizeAs(none);
        // the first decode step, 36 sequences: 0 base, 1 the first adapter, 2 base, 3 the second, ...
        assertThat(Arrays.copyOf(seen.get(2).adapters(), 8)).containsExactly(0, 1, 0, 2, 0, 1, 0, 2);
        assertThat(seen.get(2).adapters()).contains(1, 2);
        for (int i = 0; i < seen.size(); i++) assertThat(seen.get(i).tokens()).isEqualTo(none.get(i).tokens());
    }

    @Test
    void eachRoundPrefillsInTwoPassesThenDecodesOnceAtEachPanelShapeInsideTheCache() {
        List<ForwardBatch> seen = new ArrayList<>();
        int passes = Warmup.run(seen::add, 16, 60, 512, 512, Duration.ZERO, 0);
        assertThat(passes).isEqualTo(seen.size()).isEqualTo(11);  // one round: two prefill passes, 9 decode steps
        // Prompts of 48, 47, 42 and 35 tokens (part-filled attention tiles, loop tails): the first pass
        // stops the last one at 23 tokens, so it holds 160, an even number of panels of 16 and of 8.
        ForwardBatch first = seen.getFirst();
        assertThat(first.queryStart()).containsExactly(0, 48, 95, 137, 160);
        // The second: that prompt's last 12 tokens over its cached 23, and 32 short sequences' one token
        // each (4 blocks for each long sequence, 1 for each short one: 48 of the 60).
        ForwardBatch second = seen.get(1);
        assertThat(second.numSeqs()).isEqualTo(33);
        assertThat(second.numTokens()).isEqualTo(12 + 32);
        assertThat(Arrays.copyOf(second.positions(), 13)).containsExactly(23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
                34, 0);
        assertThat(second.blockTables()[0]).isEqualTo(first.blockTables()[3]);
        List<ForwardBatch> decode = seen.subList(2, 11);
        assertThat(decode).extracting(ForwardBatch::numSeqs).containsExactly(36, 32, 20, 12, 9, 4, 3, 2, 1);
        for (ForwardBatch b : seen) {
            for (int t = 0; t < b.numTokens(); t++) {
                assertThat(b.tokens()[t]).isBetween(0, 511);
                int seq = b.tokenSequence()[t];
                int pos = b.positions()[t];
                // Each token's slot is its own sequence's block for that position, among the first 48 blocks.
                assertThat(b.slotMapping()[t]).isEqualTo(b.blockTables()[seq][pos / 16] * 16 + pos % 16)
                        .isBetween(0, 48 * 16 - 1);
            }
        }
        // No two sequences share a block.
        assertThat(Arrays.stream(decode.getFirst().blockTables()).flatMapToInt(Arrays::stream).distinct().count())
                .isEqualTo(48);
        // Sequence 0 decodes positions 48..56 in order, one per step; the others from their prompts' ends.
        int next = 48;
        for (ForwardBatch b : decode) assertThat(b.positions()[0]).isEqualTo(next++);
        assertThat(Arrays.copyOf(decode.getFirst().positions(), 6)).containsExactly(48, 47, 42, 35, 1, 1);
        assertThat(decode.get(1).positions()[4]).isEqualTo(2);
    }

    @Test
    void theBudgetStartsAfterTheFirstRoundAndTheRoundsAfterItRepeatTheirStepOfFour() {
        List<ForwardBatch> seen = new ArrayList<>();
        // A first round that outlasts the budget (as it does while the JIT compiles) still gets rounds after it.
        int passes = Warmup.run(b -> {
            if (seen.size() == 10) sleep(60);
            if (seen.size() < 11 + 31) seen.add(b);
        }, 16, 60, 512, 512, Duration.ofMillis(30), 0);
        assertThat(passes).isGreaterThanOrEqualTo(11 + 31).isEqualTo(11 + (passes - 11) / 31 * 31);
        assertThat(seen.subList(0, 11)).extracting(ForwardBatch::numSeqs)
                .containsExactly(4, 33, 36, 32, 20, 12, 9, 4, 3, 2, 1);
        List<ForwardBatch> round2 = seen.subList(11, 11 + 31);
        assertThat(round2).extracting(ForwardBatch::numSeqs).startsWith(4, 33, 36, 32, 20, 12, 9, 4).endsWith(4, 3, 2, 1);
        // The step of four, 21 times at the same positions (their KV slots rewritten), then on from there.
        ForwardBatch four = round2.get(7);
        for (ForwardBatch again : round2.subList(8, 28)) {
            assertThat(again.positions()).isEqualTo(four.positions());
            assertThat(again.slotMapping()).isEqualTo(four.slotMapping());
        }
        assertThat(round2.get(28).positions()[0]).isEqualTo(four.positions()[0] + 1);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aCacheForFewSequencesCutsTheWidths() {
        List<ForwardBatch> seen = new ArrayList<>();
        Warmup.run(seen::add, 16, 20, 512, 512, Duration.ZERO, 0);  // 16 blocks for the long ones, 4 short ones
        assertThat(seen.subList(2, 11)).extracting(ForwardBatch::numSeqs).containsExactly(8, 8, 8, 8, 8, 4, 3, 2, 1);
    }

    @Test
    void aSmallCacheOrContextGetsFewerOrShorterSequences() {
        List<ForwardBatch> seen = new ArrayList<>();
        Warmup.run(seen::add, 16, 5, 512, 512, Duration.ZERO, 0);  // 4 blocks a sequence: one fits
        assertThat(seen).allSatisfy(b -> assertThat(b.numSeqs()).isEqualTo(1));
        seen.clear();
        Warmup.run(seen::add, 16, 64, 512, 8, Duration.ZERO, 0);  // context of 8: a 1-token prompt, 7 steps
        assertThat(seen).allSatisfy(b -> assertThat(Arrays.stream(b.positions()).max().orElseThrow())
                .isBetween(0, 7));
        assertThat(Warmup.run(seen::add, 16, 3, 512, 512, Duration.ZERO, 0)).isZero();  // not even one sequence fits
    }

    @Test
    void aWarmedEngineGivesLlamaCppsTokensAndRefusesASecondWarmUpOnceServing() throws Exception {
        try (LanguageModel<?> model = ModelLoader.load(SharedFiles.stories260K())) {
            // A cache just large enough that the warm-up writes the blocks the request then gets.
            LLMEngine e = TestEngines.with(model).blocks(40, 16).maxNumSeqs(4).maxNumBatchedTokens(2048).build();
            try {
                e.warmUp(Duration.ofMillis(200));
                List<Integer> tokens = e.generate("s", ONCE_UPON_A_TIME, SamplingParams.greedy(32))
                        .map(o -> o.deltas().getFirst().tokenIds()[0]).collectList().block(TIMEOUT);
                assertThat(tokens).isEqualTo(REFERENCE);
                assertThatThrownBy(() -> e.warmUp(Duration.ofMillis(10))).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("before the first request");
                TestEngines.awaitAllBlocksFree(e);
            } finally {
                e.shutdown();
            }
        }
    }
}
