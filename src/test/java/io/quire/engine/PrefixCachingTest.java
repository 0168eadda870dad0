package io.quire.engine;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.SharedFiles;
import io.quire.backend.TensorType;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.ModelLoader;
import io.quire.model.RandomModels;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Automatic prefix caching through the engine: a request sharing a prefix with an earlier one
 * skips that prefill (hit counters, scheduled tokens) and still gives exactly the greedy output an
 * engine without caching gives.
 */
class PrefixCachingTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(180);

    /** An engine, its registry, and the tokens it scheduled so far. */
    private record Run(LLMEngine engine, MeterRegistry registry) {
        double scheduledTokens() { return registry.get("quire_iteration_tokens_total").summary().totalAmount(); }
        double hits() { return registry.get("quire_prefix_cache_hits").counter().count(); }
        double queries() { return registry.get("quire_prefix_cache_queries").counter().count(); }

        int[] generate(String id, int[] prompt, int maxTokens) {
            return generate(id, prompt, maxTokens, null);
        }

        int[] generate(String id, int[] prompt, int maxTokens, String salt) {
            SamplingParams params = SamplingParams.greedy(maxTokens).withIgnoreEos(true);
            List<RequestOutput> outs = engine.generate(id, prompt, params, salt).collectList().block(TIMEOUT);
            assertThat(outs.getLast().finished()).isTrue();
            return outs.stream().flatMapToInt(o -> Arrays.stream(o.deltas().getFirst().tokenIds())).toArray();
        }
    }

    private static Run run(LanguageModel<?> m, int blockSize, boolean caching) {
        MeterRegistry reg = new SimpleMeterRegistry();
        LLMEngine engine = TestEngines.with(m).blocks(2 * m.config().contextLength() / blockSize, blockSize)
                .maxNumSeqs(8).maxNumBatchedTokens(512).prefixCaching(caching).registry(reg).build();
        return new Run(engine, reg);
    }

    private static int[] randomTokens(Random rnd, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + rnd.nextInt(vocab - 3);
        return t;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void aSharedPrefixOf256TokensIsNotPrefilledAgainAndTheOutputIsUnchanged() {
        try (LanguageModel<?> m = RandomModels.load(ModelConfig.llama(128, 2, 4, 2, 256, 600, 1024), TensorType.F32,
                21)) {
            Random rnd = new Random(5);
            int[] prefix = randomTokens(rnd, 256, 600);
            prefix[0] = 1;
            int[] a = concat(prefix, randomTokens(rnd, 20, 600));
            int[] b = concat(prefix, randomTokens(rnd, 33, 600)); // 289 tokens
            int maxTokens = 16;

            Run cached = run(m, 16, true), plain = run(m, 16, false);
            try (LLMEngine e1 = cached.engine(); LLMEngine e2 = plain.engine()) {
                int[] aCached = cached.generate("a", a, maxTokens);
                assertThat(cached.hits()).isZero();
                double before = cached.scheduledTokens();
                int[] bCached = cached.generate("b", b, maxTokens);
                double bScheduled = cached.scheduledTokens() - before;

                assertThat(cached.hits()).as("hit tokens").isEqualTo(256);
                assertThat(cached.queries()).isEqualTo(a.length + b.length);
                // Only the 33 new prompt tokens, then 15 decode steps (the 16th token needs no step).
                assertThat(bScheduled).isEqualTo(33 + maxTokens - 1);

                assertThat(plain.generate("a", a, maxTokens)).containsExactly(aCached);
                double plainBefore = plain.scheduledTokens();
                assertThat(plain.generate("b", b, maxTokens)).as("greedy output with and without the prefix cache")
                        .containsExactly(bCached);
                assertThat(plain.scheduledTokens() - plainBefore).isEqualTo(b.length + maxTokens - 1);
                assertThat(plain.hits()).isZero();
                assertThat(plain.queries()).isZero();

                // The same prompt again: everything but its last token is cached (its logits must be computed).
                double again = cached.scheduledTokens();
                assertThat(cached.generate("b2", b, maxTokens)).containsExactly(bCached);
                assertThat(cached.scheduledTokens() - again).isEqualTo(289 - 288 + maxTokens - 1);
                assertThat(e1.numFreeBlocks()).isEqualTo(e1.numTotalBlocks());
            }
        }
    }

    @Test
    void stories260KShortPrefix() throws Exception {
        try (LanguageModel<?> m = ModelLoader.load(SharedFiles.stories260K())) {
            // "Once upon a time, there was a little girl named"
            int[] story = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421};
            int[] a = concat(story, new int[]{395, 317});
            int[] b = concat(story, new int[]{426, 338, 401});
            Run cached = run(m, 4, true), plain = run(m, 4, false);
            try (LLMEngine e1 = cached.engine(); LLMEngine e2 = plain.engine()) {
                cached.generate("a", a, 24);
                double before = cached.scheduledTokens();
                int[] bCached = cached.generate("b", b, 24);
                assertThat(cached.hits()).isEqualTo(12); // three full blocks of the 13-token story
                assertThat(cached.scheduledTokens() - before).isEqualTo(b.length - 12 + 23);
                assertThat(plain.generate("b", b, 24)).containsExactly(bCached);
            }
        }
    }

    @Test
    void onlyRequestsWithTheSameCacheSaltShareCachedBlocks() throws Exception {
        try (LanguageModel<?> m = ModelLoader.load(SharedFiles.stories260K())) {
            int[] story = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421};
            Run cached = run(m, 4, true);
            try (LLMEngine e = cached.engine()) {
                int[] first = cached.generate("a", story, 8, "tenant-1");
                cached.generate("b", story, 8, "tenant-2");
                assertThat(cached.hits()).as("another salt shares nothing").isZero();
                cached.generate("c", story, 8, null);
                assertThat(cached.hits()).as("no salt is a salt of its own").isZero();
                assertThat(cached.generate("d", story, 8, "tenant-1")).containsExactly(first);
                assertThat(cached.hits()).as("the same salt hits its 3 full blocks").isEqualTo(12);
                assertThat(e.numFreeBlocks()).isEqualTo(e.numTotalBlocks());
            }
        }
    }
}
