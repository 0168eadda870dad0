package io.quire.engine;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.SharedFiles;
import io.quire.backend.TensorType;
import io.quire.engine.structured.ConstraintSpec;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.ModelLoader;
import io.quire.model.RandomModels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * N-gram speculative decoding: the proposer's drafts, the config's checks, and, on stories260K and a
 * random model, the same outputs as without drafts (greedy, seeded sampling with penalties, n = 2,
 * logprobs, preemption) with drafts actually kept, and no block left behind.
 */
class SpeculativeDecodingTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final int[] ONCE_UPON_A_TIME = {1, 403, 407, 261, 378};
    private static final List<Integer> REFERENCE = List.of(432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
            401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394);
    private static final SpeculativeConfig NGRAM = new SpeculativeConfig(3, 1, 4, 0);

    private final List<LLMEngine> engines = new ArrayList<>();
    private LanguageModel<?> model;

    @AfterEach
    void noBlockLeaks() {
        try {
            for (LLMEngine e : engines) {
                try {
                    TestEngines.awaitAllBlocksFree(e);
                } finally {
                    e.shutdown();
                }
            }
        } finally {
            if (model != null) model.close();
        }
    }

    private LLMEngine engine(SpeculativeConfig spec, SimpleMeterRegistry registry, int blocks, int maxSeqs) {
        LLMEngine e = TestEngines.with(model).blocks(blocks, 16).maxNumSeqs(maxSeqs).speculative(spec)
                .registry(registry).build();
        engines.add(e);
        return e;
    }

    private static double count(SimpleMeterRegistry registry, String name) {
        return registry.get(name).counter().count();
    }

    private static List<RequestOutput> run(LLMEngine e, String id, int[] prompt, SamplingParams p) {
        return e.generate(id, prompt, p).collectList().block(TIMEOUT);
    }

    /** Sequence {@code index}'s tokens, text and logprob count over a request's outputs. */
    private record Result(int[] tokens, String text, int logprobs, FinishReason reason) {}

    private static Result result(List<RequestOutput> outs, int index) {
        List<Integer> tokens = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        int logprobs = 0;
        FinishReason reason = null;
        for (RequestOutput o : outs) {
            for (SequenceDelta d : o.deltas()) {
                if (d.index() != index) continue;
                for (int t : d.tokenIds()) tokens.add(t);
                text.append(d.text());
                logprobs += d.logprobs().size();
                if (d.finishReason() != null) reason = d.finishReason();
            }
        }
        return new Result(tokens.stream().mapToInt(Integer::intValue).toArray(), text.toString(), logprobs, reason);
    }

    @Test
    void proposesWhatFollowedTheLatestEarlierOccurrenceOfTheLongestSuffix() {
        NgramProposer p = new NgramProposer(1, 2);
        int[] t = {1, 2, 3, 4, 9, 2, 3, 5, 7, 2, 3};
        assertThat(p.propose(t, t.length, 3)).containsExactly(5, 7, 2);
        assertThat(p.propose(t, t.length, 1)).containsExactly(5);
        // no 2- or 3-gram suffix occurred before: the 1-gram [3]
        int[] u = {1, 2, 3, 4, 5, 3};
        assertThat(new NgramProposer(1, 3).propose(u, u.length, 2)).containsExactly(4, 5);
        assertThat(new NgramProposer(2, 3).propose(u, u.length, 2)).isEmpty();
        // only the first `length` tokens count
        assertThat(p.propose(new int[] {1, 2, 1, 9, 9}, 3, 2)).containsExactly(2, 1);
        assertThat(p.propose(new int[] {1, 2, 3}, 3, 4)).isEmpty();
        assertThat(p.propose(new int[] {7}, 1, 4)).isEmpty();
    }

    @Test
    void aDraftRunsOnIntoItselfThroughALoop() {
        NgramProposer p = new NgramProposer(1, 2);
        assertThat(p.propose(new int[] {7, 8, 8, 8}, 4, 4)).containsExactly(8, 8, 8, 8);
        assertThat(p.propose(new int[] {5, 6, 5, 6}, 4, 5)).containsExactly(5, 6, 5, 6, 5);
        assertThat(p.propose(new int[] {1, 5, 6, 7, 5, 6}, 6, 4)).containsExactly(7, 5, 6, 7);
    }

    @Test
    void theConfigTakesVllmsKeysAndDefaults() {
        assertThat(SpeculativeConfig.of(Map.of("method", "ngram", "num_speculative_tokens", 4)))
                .isEqualTo(new SpeculativeConfig(4, 5, 5, 0));
        assertThat(SpeculativeConfig.of(Map.of("method", "ngram", "num_speculative_tokens", 2, "prompt_lookup_max", 3)))
                .isEqualTo(new SpeculativeConfig(2, 3, 3, 0));
        assertThat(SpeculativeConfig.of(Map.of("method", "ngram", "num_speculative_tokens", 2, "prompt_lookup_min", 2,
                "prompt_lookup_max", 4, "disable_by_batch_size", 8))).isEqualTo(new SpeculativeConfig(2, 2, 4, 8));
        assertThat(new SpeculativeConfig(2, 1, 1, 8).draftsAt(7)).isTrue();
        assertThat(new SpeculativeConfig(2, 1, 1, 8).draftsAt(8)).isFalse();
        assertThat(new SpeculativeConfig(2, 1, 1, 0).draftsAt(1000)).isTrue();
    }

    @Test
    void theConfigRefusesWhatItCannotDo() {
        assertThatThrownBy(() -> SpeculativeConfig.of(Map.of("method", "eagle", "num_speculative_tokens", 2)))
                .hasMessageContaining("quire.speculative-config: method \"eagle\" is not supported");
        assertThatThrownBy(() -> SpeculativeConfig.of(Map.of("num_speculative_tokens", 2)))
                .hasMessageContaining("method is missing");
        assertThatThrownBy(() -> SpeculativeConfig.of(Map.of("method", "ngram")))
                .hasMessageContaining("num_speculative_tokens is required");
        assertThatThrownBy(() -> SpeculativeConfig.of(Map.of("method", "ngram", "num_speculative_tokens", 2,
                "model", "/models/draft"))).hasMessageContaining("model is not supported");
        assertThatThrownBy(() -> SpeculativeConfig.of(Map.of("method", "ngram", "num_speculative_tokens", 2.5)))
                .hasMessageContaining("num_speculative_tokens must be an integer");
        assertThatThrownBy(() -> SpeculativeConfig.of(Map.of("method", "ngram", "num_speculative_tokens", 0)))
                .hasMessageContaining("between 1 and 64");
        assertThatThrownBy(() -> SpeculativeConfig.of(Map.of("method", "ngram", "num_speculative_tokens", 2,
                "prompt_lookup_min", 4, "prompt_lookup_max", 2))).hasMessageContaining("must not exceed");
    }

    @Test
    void greedyOutputsAreTheSameWithDraftsAndDraftsAreKept() throws IOException {
        model = ModelLoader.load(SharedFiles.stories260K());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        LLMEngine plain = engine(null, new SimpleMeterRegistry(), 64, 8);
        LLMEngine spec = engine(NGRAM, registry, 64, 8);
        Result reference = result(run(spec, "r", ONCE_UPON_A_TIME, SamplingParams.greedy(32)), 0);
        assertThat(reference.tokens()).containsExactly(REFERENCE.stream().mapToInt(Integer::intValue).toArray());
        assertThat(reference.text()).isEqualTo(", there was a little girl named Lily. She loved to play outside in the"
                + " park. One day, she saw");
        assertThat(reference.reason()).isEqualTo(FinishReason.LENGTH);
        // Long enough for the tiny model to repeat itself, which drafts feed on.
        Result without = result(run(plain, "a", ONCE_UPON_A_TIME, SamplingParams.greedy(400)), 0);
        List<RequestOutput> outs = run(spec, "b", ONCE_UPON_A_TIME, SamplingParams.greedy(400));
        Result with = result(outs, 0);
        assertThat(with.tokens()).containsExactly(without.tokens());
        assertThat(with.text()).isEqualTo(without.text());
        assertThat(with.tokens()).hasSize(400);
        double accepted = count(registry, "quire_spec_decode_num_accepted_tokens");
        assertThat(accepted).as("drafted tokens kept").isGreaterThan(20);
        assertThat(count(registry, "quire_spec_decode_num_draft_tokens")).isGreaterThanOrEqualTo(accepted);
        assertThat(outs.size()).as("outputs (steps)").isLessThan(400);
        assertThat(count(registry, "quire_spec_decode_num_accepted_tokens_per_pos"))
                .isGreaterThanOrEqualTo(registry.find("quire_spec_decode_num_accepted_tokens_per_pos")
                        .tag("position", "2").counter().count());
    }

    @Test
    void seededSamplingWithPenaltiesLogprobsAndNDrawsTheSameTokens() throws IOException {
        model = ModelLoader.load(SharedFiles.stories260K());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        LLMEngine plain = engine(null, new SimpleMeterRegistry(), 128, 8);
        LLMEngine spec = engine(NGRAM, registry, 128, 8);
        for (long seed = 1; seed <= 4; seed++) {
            SamplingParams p = new SamplingParams(2, 0.8f, 0.95f, 40, 0f, 0.1f, 0.2f, 1.1f, seed, List.of("Lily."),
                    null, false, 120, 0, false, null, 2, true);
            List<RequestOutput> a = run(plain, "a" + seed, ONCE_UPON_A_TIME, p);
            List<RequestOutput> b = run(spec, "b" + seed, ONCE_UPON_A_TIME, p);
            for (int i = 0; i < 2; i++) {
                Result x = result(a, i), y = result(b, i);
                assertThat(y.tokens()).as("seed %d, sequence %d", seed, i).containsExactly(x.tokens());
                assertThat(y.text()).isEqualTo(x.text());
                assertThat(y.reason()).isEqualTo(x.reason());
                assertThat(y.logprobs()).isEqualTo(y.tokens().length);
            }
        }
        // greedy with the same settings otherwise, where the drafts are surely taken
        SamplingParams greedy = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, null, null, false, 300, 0,
                true, null, 1, true);
        Result x = result(run(plain, "g1", ONCE_UPON_A_TIME, greedy), 0);
        Result y = result(run(spec, "g2", ONCE_UPON_A_TIME, greedy), 0);
        assertThat(y.tokens()).containsExactly(x.tokens());
        assertThat(y.logprobs()).isEqualTo(300);
        assertThat(count(registry, "quire_spec_decode_num_accepted_tokens")).isGreaterThan(0);
    }

    @Test
    void constrainedBestOfAndStoppedOutputsAreTheSame() throws IOException {
        model = ModelLoader.load(SharedFiles.stories260K());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        LLMEngine plain = engine(null, new SimpleMeterRegistry(), 128, 8);
        LLMEngine spec = engine(NGRAM, registry, 128, 8);
        SamplingParams regex = SamplingParams.greedy(120).withConstraint(new ConstraintSpec.Regex(
                "( (the|a|girl|boy|park|and|ball|was|to|play|she|he|saw|big|little|dog)){5,40}\\."));
        SamplingParams bestOf = new SamplingParams(1, 1f, 1f, -1, 0f, 0f, 0f, 1f, 7L, null, null, false, 150, 0, true,
                null, null, true).withN(1, 3);
        SamplingParams stop = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of("park. One day", "Lily"),
                null, true, 300, 0, true, null, null, true);
        List<Result> results = new ArrayList<>();
        for (SamplingParams p : List.of(regex, bestOf, stop)) {
            Result x = result(run(plain, "x" + results.size(), ONCE_UPON_A_TIME, p), 0);
            Result y = result(run(spec, "y" + results.size(), ONCE_UPON_A_TIME, p), 0);
            assertThat(y.tokens()).containsExactly(x.tokens());
            assertThat(y.text()).isEqualTo(x.text());
            assertThat(y.reason()).isEqualTo(x.reason());
            results.add(y);
        }
        assertThat(results.get(0).text()).matches("( (the|a|girl|boy|park|and|ball|was|to|play|she|he|saw|big|little"
                + "|dog)){5,40}\\.");
        assertThat(results.get(1).tokens()).isNotEmpty();
        assertThat(results.get(2).reason()).isEqualTo(FinishReason.STOP);
        assertThat(results.get(2).text()).endsWith("Lily");
        assertThat(count(registry, "quire_spec_decode_num_draft_tokens")).isGreaterThan(0);
    }

    @Test
    void cancelledAndAbortedRequestsWithDraftsGiveTheirBlocksBack() throws IOException {
        model = ModelLoader.load(SharedFiles.stories260K());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        LLMEngine spec = engine(NGRAM, registry, 64, 8);
        SamplingParams p = SamplingParams.greedy(400).withIgnoreEos(true);
        List<Flux<RequestOutput>> running = new ArrayList<>();
        for (int i = 0; i < 4; i++) running.add(spec.generate("keep" + i, ONCE_UPON_A_TIME, p));
        // cancelled after a few outputs, each of which may carry several tokens
        List<RequestOutput> first = spec.generate("cancel", ONCE_UPON_A_TIME, p).take(5).collectList()
                .block(TIMEOUT);
        assertThat(first).hasSize(5);
        Flux<RequestOutput> byId = spec.generate("abort", ONCE_UPON_A_TIME, p).cache();
        byId.take(3).blockLast(TIMEOUT);
        assertThat(spec.abort("abort")).isTrue();
        assertThat(result(byId.collectList().block(TIMEOUT), 0).reason()).isEqualTo(FinishReason.ABORT);
        for (Flux<RequestOutput> f : running) {
            Result r = result(f.collectList().block(TIMEOUT), 0);
            assertThat(r.tokens()).hasSize(400);
        }
        assertThat(count(registry, "quire_spec_decode_num_accepted_tokens")).isGreaterThan(0);
    }

    @Test
    void manyRequestsInASmallCacheGiveWhatEachGivesAlone() {
        model = RandomModels.load(ModelConfig.llama(96, 2, 6, 2, 160, 400, 256), TensorType.F32, 5);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Random random = new Random(11);
        int[][] prompts = new int[12][];
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = random.ints(3 + random.nextInt(40), 1, 400).toArray();
        }
        LLMEngine plain = engine(null, new SimpleMeterRegistry(), 64, 16);
        int[][] alone = new int[prompts.length][];
        for (int i = 0; i < prompts.length; i++) {
            SamplingParams p = SamplingParams.greedy(60 + 10 * i).withIgnoreEos(true);
            alone[i] = result(run(plain, "p" + i, prompts[i], p), 0).tokens();
        }
        // 24 blocks of 16 tokens hold about a third of what the twelve need at once: preemptions
        LLMEngine spec = engine(new SpeculativeConfig(4, 1, 3, 0), registry, 24, 16);
        List<Flux<RequestOutput>> fluxes = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            fluxes.add(spec.generate("s" + i, prompts[i], SamplingParams.greedy(60 + 10 * i).withIgnoreEos(true)));
        }
        List<List<RequestOutput>> all = Flux.fromIterable(fluxes).flatMapSequential(f -> f.collectList(), 12)
                .collectList().block(TIMEOUT);
        for (int i = 0; i < prompts.length; i++) {
            assertThat(result(all.get(i), 0).tokens()).as("request %d", i).containsExactly(alone[i]);
        }
        assertThat(count(registry, "quire_num_preemptions")).isGreaterThan(0);
        assertThat(count(registry, "quire_spec_decode_num_accepted_tokens")).isGreaterThan(0);
        assertThat(Arrays.stream(alone).mapToInt(a -> a.length).sum()).isEqualTo(12 * 60 + 10 * 66);
    }
}
