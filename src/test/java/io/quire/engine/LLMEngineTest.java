package io.quire.engine;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The engine loop end to end with {@link ToyModel}, whose output depends on every token read back
 * through the paged KV cache: batching, chunking and preemption must not change any output.
 */
class LLMEngineTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final int VOCAB = 64;

    private final ToyModel model = new ToyModel(VOCAB, 4096);
    private LLMEngine engine;

    private LLMEngine start(int numBlocks, int blockSize, int maxSeqs, int maxBatched, int maxModelLen,
                            MeterRegistry registry) {
        engine = TestEngines.with(model).blocks(numBlocks, blockSize).maxNumSeqs(maxSeqs)
                .maxNumBatchedTokens(maxBatched).maxModelLen(maxModelLen).registry(registry).build();
        assertThat(engine.numTotalBlocks()).isEqualTo(numBlocks);
        return engine;
    }

    private LLMEngine start(int numBlocks, int blockSize, int maxSeqs, int maxBatched, int maxModelLen) {
        return start(numBlocks, blockSize, maxSeqs, maxBatched, maxModelLen, new SimpleMeterRegistry());
    }

    @AfterEach
    void noBlockLeaks() {
        if (engine == null) return;
        try {
            EngineStats s = TestEngines.awaitAllBlocksFree(engine);
            assertThat(s.running()).isZero();
            assertThat(s.waiting()).isZero();
        } finally {
            engine.shutdown();
        }
    }

    private static int[] randomPrompt(Random rnd, int len) {
        int[] p = new int[len];
        p[0] = ToyTokenizer.BOS;
        for (int i = 1; i < len; i++) p[i] = 5 + rnd.nextInt(VOCAB - 5);
        return p;
    }

    /** Output tokens of a finished stream, checking its shape on the way. */
    private static int[] tokens(List<RequestOutput> outs) {
        assertThat(outs).isNotEmpty();
        assertThat(outs.getLast().finished()).isTrue();
        assertThat(outs.subList(0, outs.size() - 1)).noneMatch(RequestOutput::finished);
        return outs.stream().flatMapToInt(o -> Arrays.stream(o.deltas().getFirst().tokenIds())).toArray();
    }

    private static String text(List<RequestOutput> outs) {
        StringBuilder sb = new StringBuilder();
        for (RequestOutput o : outs) sb.append(o.deltas().getFirst().text());
        return sb.toString();
    }

    private static int firstIndex(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }

    private static FinishReason reason(List<RequestOutput> outs) {
        return outs.getLast().deltas().getFirst().finishReason();
    }

    @Test
    void greedyRequestMatchesTheCachelessReference() {
        start(64, 4, 8, 32, 256);
        int[] prompt = {1, 10, 20, 30, 40};
        int[] expected = model.reference(prompt, 20);
        Flux<Integer> ids = engine.generate("r1", prompt, SamplingParams.greedy(20))
                .map(o -> o.deltas().getFirst().tokenIds()[0]);
        StepVerifier.create(ids).expectNextSequence(Arrays.stream(expected).boxed().toList()).expectComplete()
                .verify(TIMEOUT);
        List<RequestOutput> outs = engine.generate("r2", prompt, SamplingParams.greedy(20)).collectList()
                .block(TIMEOUT);
        assertThat(tokens(outs)).containsExactly(expected);
        assertThat(outs.getLast().promptTokens()).isEqualTo(5);
        assertThat(outs.getLast().completionTokens()).isEqualTo(expected.length);
        assertThat(reason(outs))
                .isEqualTo(expected[expected.length - 1] == ToyTokenizer.EOS ? FinishReason.STOP : FinishReason.LENGTH);
        int[] withoutEos = Arrays.stream(expected).filter(t -> t != ToyTokenizer.EOS).toArray();
        assertThat(text(outs)).isEqualTo(model.tokenizer().decode(withoutEos));
    }

    @Test
    void concurrentRequestsOfMixedLengthsEachGetTheirOwnTokens() {
        start(400, 8, 16, 64, 1024);
        Random rnd = new Random(11);
        List<int[]> prompts = new ArrayList<>();
        List<Integer> maxTokens = new ArrayList<>();
        List<Flux<RequestOutput>> fluxes = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            prompts.add(randomPrompt(rnd, 1 + rnd.nextInt(150)));
            maxTokens.add(1 + rnd.nextInt(40));
            fluxes.add(engine.generate("c" + i, prompts.get(i), SamplingParams.greedy(maxTokens.get(i))));
        }
        List<List<RequestOutput>> results = Flux.mergeSequential(fluxes.stream().map(Flux::collectList).toList())
                .collectList().block(TIMEOUT);
        for (int i = 0; i < 40; i++) {
            assertThat(tokens(results.get(i))).as("request %d", i)
                    .containsExactly(model.reference(prompts.get(i), maxTokens.get(i)));
        }
        synchronized (model.steps) {
            assertThat(model.steps).allSatisfy(s -> {
                assertThat(s[0]).isLessThanOrEqualTo(16);
                assertThat(s[1]).isLessThanOrEqualTo(64);
            });
            assertThat(model.steps).as("some step mixes prompt chunks with decodes")
                    .anyMatch(s -> s[0] > 1 && s[1] > s[0]);
        }
        assertThat(engine.stats().numPreemptions()).isZero();
    }

    @Test
    void preemptionUnderATinyCacheLeavesGreedyOutputsUnchanged() {
        // 16 blocks of 8 = 128 tokens: exactly one request of the full context.
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        start(16, 8, 8, 64, 128, registry);
        Random rnd = new Random(5);
        List<int[]> prompts = new ArrayList<>();
        List<Mono<List<RequestOutput>>> fluxes = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            prompts.add(randomPrompt(rnd, 20 + rnd.nextInt(40)));
            fluxes.add(engine.generate("p" + i, prompts.get(i), SamplingParams.greedy(40)).collectList());
        }
        List<List<RequestOutput>> results = Flux.mergeSequential(fluxes).collectList().block(TIMEOUT);
        for (int i = 0; i < 12; i++) {
            assertThat(tokens(results.get(i))).as("request %d", i).containsExactly(model.reference(prompts.get(i), 40));
        }
        assertThat(engine.stats().numPreemptions()).isPositive();
        assertThat(registry.get("quire_num_preemptions").counter().count()).isEqualTo(engine.stats().numPreemptions());
    }

    @Test
    void aSeededSampledRequestIsTheSameAloneAndInABusyBatch() {
        start(600, 8, 32, 128, 512);
        int[] prompt = {1, 7, 8, 9, 10, 11};
        SamplingParams seeded = new SamplingParams(1, 0.9f, 0.95f, 40, 0.01f, 0.2f, 0.1f, 1.1f, 1234L, List.of(),
                List.of(), false, 30, 0, true, Map.of(), 2, true);
        int[] alone = tokens(engine.generate("alone", prompt, seeded).collectList().block(TIMEOUT));
        assertThat(alone).hasSize(30); // ignore_eos

        Random rnd = new Random(3);
        List<Mono<List<RequestOutput>>> fluxes = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            SamplingParams other = SamplingParams.defaults(1 + rnd.nextInt(40));
            fluxes.add(engine.generate("busy" + i, randomPrompt(rnd, 1 + rnd.nextInt(80)), other).collectList());
            if (i == 7) fluxes.add(engine.generate("again", prompt, seeded).collectList());
        }
        List<List<RequestOutput>> results = Flux.mergeSequential(fluxes).collectList().block(TIMEOUT);
        assertThat(tokens(results.get(8))).containsExactly(alone);
        // Logprobs: one per token with two alternatives, from the raw distribution.
        assertThat(results.get(8)).allSatisfy(o -> assertThat(o.deltas().getFirst().logprobs()).singleElement()
                .satisfies(lp -> assertThat(lp.top()).hasSize(2)));
    }

    @Test
    void cancellingMidStreamAbortsAndFreesTheBlocks() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        start(64, 4, 8, 32, 256, registry);
        SamplingParams p = SamplingParams.greedy(200).withTemperature(0f);
        SamplingParams noEos = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(), false, 200,
                0, true, Map.of(), null, true);
        // The model takes one permit per step, so the request is still running when the client leaves.
        Semaphore permits = new Semaphore(3);
        model.failWhen = b -> {
            permits.acquireUninterruptibly();
            return false;
        };
        List<RequestOutput> first = engine.generate("cancel-me", new int[]{1, 5, 6}, noEos).take(3).collectList()
                .block(TIMEOUT);
        assertThat(first).hasSize(3);
        permits.release(1000);
        TestEngines.awaitAllBlocksFree(engine);
        assertThat(engine.stats().running()).isZero();
        assertThat(registry.get("quire_request_success").tag("finished_reason", "abort").counter().count())
                .isEqualTo(1);
        assertThat(model.steps.size()).as("removed within a step").isLessThanOrEqualTo(4);
        model.failWhen = b -> false;
        // The engine keeps serving.
        List<RequestOutput> after = engine.generate("after", new int[]{1, 5, 6}, p.withTemperature(0f)).collectList()
                .block(TIMEOUT);
        assertThat(tokens(after)).containsExactly(model.reference(new int[]{1, 5, 6}, 200));
        // Aborting by id ends the stream with an ABORT output.
        CountDownLatch gate = new CountDownLatch(1);
        model.failWhen = b -> {
            try { gate.await(); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
            return false;
        };
        Flux<RequestOutput> f = engine.generate("by-id", new int[]{1, 9}, noEos);
        assertThat(engine.abort("by-id")).isTrue();
        gate.countDown();
        List<RequestOutput> aborted = f.collectList().block(TIMEOUT);
        assertThat(aborted.size()).isLessThan(200);
        assertThat(reason(aborted)).isEqualTo(FinishReason.ABORT);
    }

    @Test
    void aFailingStepFailsItsRequestsAndTheEngineKeepsServing() {
        start(64, 4, 8, 32, 256);
        AtomicBoolean armed = new AtomicBoolean(true);
        model.failWhen = b -> Arrays.stream(b.tokens()).anyMatch(t -> t == 60) && armed.getAndSet(false);
        StepVerifier.create(engine.generate("bad", new int[]{1, 60, 61}, SamplingParams.greedy(5)))
                .expectErrorMessage("injected model failure").verify(TIMEOUT);
        assertThat(engine.numFreeBlocks()).isEqualTo(engine.numTotalBlocks());
        int[] prompt = {1, 60, 61};
        assertThat(tokens(engine.generate("good", prompt, SamplingParams.greedy(5)).collectList().block(TIMEOUT)))
                .containsExactly(model.reference(prompt, 5));
    }

    @Test
    void stopStringsAndStopTokens() {
        start(64, 4, 8, 32, 256);
        int[] prompt = {1, 12, 13, 14};
        SamplingParams noEos = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(), false, 30,
                0, true, Map.of(), null, true);
        List<RequestOutput> full = engine.generate("full", prompt, noEos).collectList().block(TIMEOUT);
        String text = text(full);
        int[] all = tokens(full);
        assertThat(text.length()).isGreaterThan(12);
        String stop = text.substring(8, 11);
        int at = text.indexOf(stop);

        SamplingParams withStop = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(stop), List.of(),
                false, 30, 0, true, Map.of(), null, true);
        List<RequestOutput> stopped = engine.generate("stopped", prompt, withStop).collectList().block(TIMEOUT);
        assertThat(text(stopped)).isEqualTo(text.substring(0, at));
        assertThat(reason(stopped)).isEqualTo(FinishReason.STOP);
        assertThat(model.tokenizer().decode(tokens(stopped))).endsWith(stop)
                .contains(text.substring(0, at + stop.length()));

        SamplingParams include = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(stop), List.of(), true,
                30, 0, true, Map.of(), null, true);
        assertThat(text(engine.generate("included", prompt, include).collectList().block(TIMEOUT)))
                .isEqualTo(text.substring(0, at + stop.length()));

        int kk = 6;
        while (firstIndex(all, all[kk]) != kk) kk--; // the stop token's first occurrence
        int stopToken = all[kk];
        SamplingParams stopIds = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(stopToken),
                false, 30, 0, true, Map.of(), null, true);
        List<RequestOutput> byToken = engine.generate("by-token", prompt, stopIds).collectList().block(TIMEOUT);
        assertThat(tokens(byToken)).containsExactly(Arrays.copyOf(all, kk + 1));
        assertThat(text(byToken)).isEqualTo(model.tokenizer().decode(Arrays.copyOf(all, kk)));
        assertThat(reason(byToken)).isEqualTo(FinishReason.STOP);
    }

    @Test
    void invalidRequestsAreRefusedBeforeQueueing() {
        start(64, 4, 8, 32, 100);
        assertThatThrownBy(() -> engine.generate("long", new int[]{1, 2, 3}, SamplingParams.greedy(98)))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessage("This model's maximum context length is 100 tokens. However, you requested 101 tokens"
                        + " (3 in the messages, 98 in the completion). Please reduce the length of the messages or"
                        + " completion.");
        assertThatThrownBy(() -> engine.generate("vocab", new int[]{1, VOCAB}, SamplingParams.greedy(5)))
                .isInstanceOf(InvalidRequestException.class);
        // max_tokens null: up to the context length.
        SamplingParams unbounded = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(), false,
                null, 0, true, Map.of(), null, true);
        List<RequestOutput> outs = engine.generate("ctx", new int[]{1, 5}, unbounded).collectList().block(TIMEOUT);
        assertThat(tokens(outs)).hasSize(98);
        assertThat(reason(outs)).isEqualTo(FinishReason.LENGTH);
        assertThat(engine.stats().waiting()).isZero();
    }

    @Test
    void aCacheSmallerThanTheContextIsRefused() {
        TestEngines.Builder tooSmall = TestEngines.with(model).blocks(4, 16).maxNumSeqs(8).maxNumBatchedTokens(64)
                .maxModelLen(128);
        assertThatThrownBy(tooSmall::build)
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maximum model length 128");
    }

    @Test
    void metricsHaveVllmNamesInPrometheus() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        start(64, 4, 8, 32, 256, registry);
        engine.generate("m", new int[]{1, 5, 6, 7}, SamplingParams.greedy(5)).collectList().block(TIMEOUT);
        String scrape = registry.scrape();
        for (String name : List.of("quire_num_requests_running{model_name=\"toy\"}",
                "quire_num_requests_waiting{model_name=\"toy\"}",
                "quire_kv_cache_usage_perc{model_name=\"toy\"}", "quire_prompt_tokens_total{model_name=\"toy\"} 4.0",
                "quire_generation_tokens_total{model_name=\"toy\"}",
                "quire_num_preemptions_total{model_name=\"toy\"} 0.0",
                "quire_request_success_total{finished_reason=\"abort\",model_name=\"toy\"} 0.0",
                "quire_time_to_first_token_seconds_bucket{model_name=\"toy\",le=\"0.001\"}",
                "quire_time_to_first_token_seconds_count{model_name=\"toy\"} 1",
                "quire_time_to_first_token_seconds_bucket{model_name=\"toy\",le=\"2560.0\"} 1",
                "quire_e2e_request_latency_seconds_bucket{model_name=\"toy\",le=\"7680.0\"} 1",
                "quire_inter_token_latency_seconds_bucket{model_name=\"toy\",le=\"0.01\"}",
                "quire_time_per_output_token_seconds_bucket{model_name=\"toy\",le=\"0.01\"}",
                "quire_e2e_request_latency_seconds_bucket{model_name=\"toy\",le=\"0.3\"}",
                "quire_request_queue_time_seconds_bucket{model_name=\"toy\",le=\"0.3\"}",
                "quire_iteration_tokens_bucket{model_name=\"toy\",le=\"1.0\"}")) {
            assertThat(scrape).as(scrape).contains(name);
        }
    }

    @Test
    void subSecondLatenciesLandInTheirBuckets() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        EngineMetrics m = new EngineMetrics(registry, "x", () -> new EngineStats(0, 0, 1, 1, 0, 0));
        EngineMetrics.record(m.timeToFirstToken, 500_000);
        EngineMetrics.record(m.interTokenLatency, 20_000_000);
        String scrape = registry.scrape();
        assertThat(scrape).contains("quire_time_to_first_token_seconds_bucket{model_name=\"x\",le=\"0.001\"} 1")
                .contains("quire_inter_token_latency_seconds_bucket{model_name=\"x\",le=\"0.01\"} 0")
                .contains("quire_inter_token_latency_seconds_bucket{model_name=\"x\",le=\"0.025\"} 1");
    }

    @Test
    void minTokensHoldsOffEosAndIgnoreEosRunsToMaxTokens() {
        start(64, 4, 8, 32, 256);
        int[] prompt = {1, 5, 6};
        // A huge bias makes EOS the argmax at every step.
        SamplingParams eosFirst = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(), false,
                10, 3, false, Map.of(ToyTokenizer.EOS, 100f), null, true);
        List<RequestOutput> outs = engine.generate("min", prompt, eosFirst).collectList().block(TIMEOUT);
        int[] t = tokens(outs);
        assertThat(t).hasSize(4);
        assertThat(Arrays.copyOf(t, 3)).doesNotContain(ToyTokenizer.EOS);
        assertThat(t[3]).isEqualTo(ToyTokenizer.EOS);
        assertThat(reason(outs)).isEqualTo(FinishReason.STOP);
        SamplingParams ignore = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(), false,
                10, 0, true, Map.of(ToyTokenizer.EOS, 100f), null, true);
        List<RequestOutput> ignored = engine.generate("ignore", prompt, ignore).collectList().block(TIMEOUT);
        assertThat(tokens(ignored)).hasSize(10).containsOnly(ToyTokenizer.EOS);
        assertThat(reason(ignored)).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void shutdownEndsRunningRequestsWithAbortAndRefusesNewOnes() throws InterruptedException {
        start(64, 4, 8, 32, 256);
        CountDownLatch inStep = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        model.failWhen = b -> {
            inStep.countDown();
            try { release.await(); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
            return false;
        };
        SamplingParams noEos = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(), false, 200,
                0, true, Map.of(), null, true);
        Flux<RequestOutput> running = engine.generate("running", new int[]{1, 5}, noEos);
        assertThat(inStep.await(20, TimeUnit.SECONDS)).isTrue();
        Thread releaser = Thread.ofVirtual().start(() -> {
            // Let the step end only once shutdown has begun, so the request cannot finish first.
            await().pollInterval(Duration.ofMillis(1)).atMost(Duration.ofSeconds(20)).until(engine::isShutdown);
            release.countDown();
        });
        engine.shutdown();
        releaser.join();
        List<RequestOutput> outs = running.collectList().block(TIMEOUT);
        assertThat(reason(outs)).isEqualTo(FinishReason.ABORT);
        assertThat(engine.numFreeBlocks()).isEqualTo(engine.numTotalBlocks());
        assertThatThrownBy(() -> engine.generate("late", new int[]{1, 5}, noEos))
                .isInstanceOf(IllegalStateException.class);
    }
}
