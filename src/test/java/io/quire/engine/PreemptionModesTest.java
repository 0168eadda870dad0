package io.quire.engine;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.SharedFiles;
import io.quire.model.LanguageModel;
import io.quire.model.ModelLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Preemption by swapping and by recompute with a tiny KV cache (stories260K): every greedy
 * sequence continues with exactly the tokens it produces alone, and every block comes back.
 */
class PreemptionModesTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(180);
    private static LanguageModel<?> model;
    private static final List<int[]> prompts = new ArrayList<>();
    private static final List<Integer> maxTokens = new ArrayList<>();
    private static final List<int[]> alone = new ArrayList<>();

    @BeforeAll
    static void references() throws Exception {
        model = ModelLoader.load(SharedFiles.stories260K());
        Random rnd = new Random(8);
        for (int i = 0; i < 10; i++) {
            int[] p = new int[1 + rnd.nextInt(40)];
            p[0] = 1;
            for (int j = 1; j < p.length; j++) p[j] = 3 + rnd.nextInt(509);
            prompts.add(p);
            maxTokens.add(20 + rnd.nextInt(128 - p.length - 20));
        }
        try (LLMEngine solo = TestEngines.with(model).blocks(8, 16).maxNumSeqs(1).maxNumBatchedTokens(2048)
                .maxModelLen(128).prefixCaching(false).build()) {
            for (int i = 0; i < prompts.size(); i++) {
                alone.add(tokens(solo.generate("s" + i, prompts.get(i), params(i, 1)).collectList().block(TIMEOUT), 0));
            }
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static SamplingParams params(int i, int n) {
        return SamplingParams.greedy(maxTokens.get(i)).withIgnoreEos(true).withN(n, null);
    }

    private static int[] tokens(List<RequestOutput> outs, int index) {
        assertThat(outs.getLast().finished()).isTrue();
        return outs.stream().flatMap(o -> o.deltas().stream()).filter(d -> d.index() == index)
                .flatMapToInt(d -> Arrays.stream(d.tokenIds())).toArray();
    }

    /**
     * All prompts at once in 8 blocks of 16 tokens (one full-length sequence), with {@code n}
     * greedy sequences each.
     */
    private static MeterRegistry runAll(TestEngines.Builder engine, int n) {
        MeterRegistry reg = new SimpleMeterRegistry();
        try (LLMEngine e = engine.registry(reg).build()) {
            List<Mono<List<RequestOutput>>> all = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                all.add(e.generate("b" + i, prompts.get(i), params(i, n)).collectList());
            }
            List<List<RequestOutput>> results = Flux.mergeSequential(all).collectList().block(TIMEOUT);
            for (int i = 0; i < prompts.size(); i++) {
                for (int k = 0; k < n; k++) {
                    assertThat(tokens(results.get(i), k)).as("request %d sequence %d", i, k)
                            .containsExactly(alone.get(i));
                }
            }
            EngineStats s = e.stats();
            assertThat(s.numFreeBlocks()).isEqualTo(s.numTotalBlocks());
            assertThat(s.numFreeSwapBlocks()).isEqualTo(s.numTotalSwapBlocks());
            assertThat(e.kvCacheManager().numRequests()).isZero();
            assertThat(e.kvCacheManager().numSwappedSequences()).isZero();
        }
        return reg;
    }

    private static TestEngines.Builder tiny(int numBlocks, int swapBlocks, PreemptionMode mode, boolean caching) {
        return TestEngines.with(model).blocks(numBlocks, 16).maxNumSeqs(16).maxNumBatchedTokens(64).maxModelLen(128)
                .swapBlocks(swapBlocks).preemptionMode(mode).prefixCaching(caching);
    }

    private static double count(MeterRegistry reg, String name) { return reg.get(name).counter().count(); }

    @Test
    void swappedOutAndBackInSequencesContinueExactly() {
        MeterRegistry reg = runAll(tiny(8, 64, PreemptionMode.SWAP, false), 1);
        assertThat(count(reg, "quire_num_preemptions")).isPositive();
        assertThat(count(reg, "quire_swapped_out_blocks")).isPositive();
        assertThat(count(reg, "quire_swapped_in_blocks")).isEqualTo(count(reg, "quire_swapped_out_blocks"));
    }

    @Test
    void recomputedSequencesContinueExactly() {
        MeterRegistry reg = runAll(tiny(8, 64, PreemptionMode.RECOMPUTE, false), 1);
        assertThat(count(reg, "quire_num_preemptions")).isPositive();
        assertThat(count(reg, "quire_swapped_out_blocks")).isZero();
    }

    @Test
    void recomputeWithThePrefixCacheContinuesExactly() {
        MeterRegistry reg = runAll(tiny(8, 0, PreemptionMode.AUTO, true), 1);
        assertThat(count(reg, "quire_num_preemptions")).isPositive();
    }

    @Test
    void autoSwapsGroupsAndFallsBackToRecomputeWhenTheSwapSpaceIsFull() {
        // Two greedy sequences per request (identical, sharing blocks); 20 blocks, a 6-block swap space.
        MeterRegistry reg = runAll(tiny(20, 6, PreemptionMode.AUTO, true), 2);
        assertThat(count(reg, "quire_num_preemptions")).isPositive();
        assertThat(count(reg, "quire_swapped_out_blocks")).isPositive();
    }
}
