package io.quire.engine;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.kv.KvAllocationPolicy;
import io.quire.kv.KvMemoryReport;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The engine's KV memory report and its allocation policies, end to end with {@link ToyModel}. */
class LLMEngineKvTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final int VOCAB = 64;
    private final ToyModel model = new ToyModel(VOCAB, 4096);

    private LLMEngine start(int numBlocks, int blockSize, int maxSeqs, int maxModelLen, KvAllocationPolicy policy,
                            MeterRegistry registry) {
        return TestEngines.with(model).blocks(numBlocks, blockSize).maxNumSeqs(maxSeqs).maxNumBatchedTokens(2048)
                .maxModelLen(maxModelLen).kvAllocationPolicy(policy).registry(registry).build();
    }

    private static SamplingParams noEos(int maxTokens) {
        return SamplingParams.greedy(maxTokens).withIgnoreEos(true);
    }

    private static int[] prompt(Random rnd, int len) {
        int[] p = new int[len];
        p[0] = ToyTokenizer.BOS;
        for (int i = 1; i < len; i++) p[i] = 5 + rnd.nextInt(VOCAB - 5);
        return p;
    }

    private static int[] tokens(List<RequestOutput> outs) {
        return outs.stream().flatMapToInt(o -> Arrays.stream(o.deltas().getFirst().tokenIds())).toArray();
    }

    @Test
    void reportAfterTheFirstStepIsExactAndTheGaugesFollowIt() throws InterruptedException {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        List<KvMemoryReport> reports = new CopyOnWriteArrayList<>();
        List<Double> gaugeTokens = new CopyOnWriteArrayList<>();
        try (LLMEngine engine = start(64, 16, 8, 256, KvAllocationPolicy.PAGED, registry)) {
            assertThat(engine.kvReport().blocksUsed()).isZero();
            engine.addKvReportListener(r -> {
                reports.add(r);
                gaugeTokens.add(registry.get("quire_kv_tokens_stored").tag("model_name", "toy").gauge().value());
            });
            Random rnd = new Random(5);
            // A one-token request holds the loop in its step while the three are submitted, so all three
            // are prefilled in the next step, and it is gone by that step's report. They are submitted only
            // once its step is in the model: before, the loop could still admit the holder with some of them.
            List<Flux<RequestOutput>> fluxes = new ArrayList<>();
            int[] lengths = {5, 16, 17};
            Semaphore gate = new Semaphore(0);
            CountDownLatch inModel = new CountDownLatch(1);
            model.failWhen = b -> {
                inModel.countDown();
                gate.acquireUninterruptibly();
                return false;
            };
            Flux<RequestOutput> holder = engine.generate("holder", prompt(rnd, 3), noEos(1));
            assertThat(inModel.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("the holder's step began").isTrue();
            assertThat(model.steps).as("the holder's step runs it alone").containsExactly(new int[]{1, 3});
            for (int i = 0; i < 3; i++) fluxes.add(engine.generate("r" + i, prompt(rnd, lengths[i]), noEos(4)));
            gate.release(1000);
            assertThat(tokens(holder.collectList().block(TIMEOUT))).hasSize(1);
            List<List<RequestOutput>> outs = Flux.mergeSequential(fluxes.stream().map(Flux::collectList).toList())
                    .collectList().block(TIMEOUT);
            assertThat(outs).allSatisfy(o -> assertThat(tokens(o)).hasSize(4));

            KvMemoryReport first = reports.stream().filter(r -> r.sequences().size() == 3).findFirst().orElseThrow();
            assertThat(first.sequences()).extracting(KvMemoryReport.SequenceInfo::numTokens).containsExactly(5, 16, 17);
            assertThat(first.blocksUsed()).isEqualTo(1 + 1 + 2);
            assertThat(first.tokensStored()).isEqualTo(38);
            assertThat(first.slotsWasted()).isEqualTo(11 + 0 + 15);
            assertThat(first.slotsReserved()).isZero();
            assertThat(first.blocksShared()).isZero();
            assertThat(first.bytesPerBlock()).isEqualTo(EngineConfig.kvBytesFor(model, 16, 1));
            assertThat(first.sequences()).extracting(KvMemoryReport.SequenceInfo::owner)
                    .containsExactly("r0", "r1", "r2");
            assertThat(first.blocks()).flatExtracting(KvMemoryReport.BlockInfo::owners).containsOnly("r0", "r1", "r2");
            assertThat(gaugeTokens.get(reports.indexOf(first))).isEqualTo(38.0);

            // Step 2 wrote one decode token each: 6, 17, 18 tokens; r1 took a second block.
            KvMemoryReport second = reports.get(reports.indexOf(first) + 1);
            assertThat(second.step()).isEqualTo(first.step() + 1);
            assertThat(second.tokensStored()).isEqualTo(41);
            assertThat(second.blocksUsed()).isEqualTo(1 + 2 + 2);
            assertThat(second.slotsWasted()).isEqualTo(10 + 15 + 14);
        }
        // One report per step, then the engine's idle report: nothing held.
        assertThat(reports).extracting(KvMemoryReport::step).doesNotHaveDuplicates();
        assertThat(registry.get("quire_kv_blocks_used").gauge().value()).isZero();
        assertThat(registry.get("quire_kv_utilization_perc").gauge().value()).isEqualTo(1.0);
    }

    @Test
    void policiesChangeMemoryNeverOutputs() {
        Random rnd = new Random(21);
        List<int[]> prompts = new ArrayList<>();
        List<Integer> maxTokens = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            prompts.add(prompt(rnd, 1 + rnd.nextInt(60)));
            maxTokens.add(1 + rnd.nextInt(60));
        }
        Map<KvAllocationPolicy, List<int[]>> outputs = new EnumMap<>(KvAllocationPolicy.class);
        Map<KvAllocationPolicy, Integer> largestBatch = new EnumMap<>(KvAllocationPolicy.class);
        for (KvAllocationPolicy policy : KvAllocationPolicy.values()) {
            // 32 blocks of 8 = 256 tokens; max model len 128: Orca (Max) runs two requests at a time.
            try (LLMEngine engine = start(32, 8, 64, 128, policy, new SimpleMeterRegistry())) {
                List<KvMemoryReport> reports = new CopyOnWriteArrayList<>();
                engine.addKvReportListener(reports::add);
                List<Mono<List<RequestOutput>>> fluxes = new ArrayList<>();
                for (int i = 0; i < prompts.size(); i++) fluxes.add(engine.generate(policy + "-" + i, prompts.get(i),
                        noEos(maxTokens.get(i))).collectList());
                List<List<RequestOutput>> results = Flux.mergeSequential(fluxes).collectList().block(TIMEOUT);
                outputs.put(policy, results.stream().map(LLMEngineKvTest::tokens).toList());
                largestBatch.put(policy, reports.stream().mapToInt(r -> r.sequences().size()).max().orElseThrow());
                for (KvMemoryReport r : reports) {
                    for (KvMemoryReport.SequenceInfo s : r.sequences()) {
                        int i = Integer.parseInt(s.owner().substring(s.owner().indexOf('-') + 1));
                        int reserved = policy.reservedTokens(prompts.get(i).length, maxTokens.get(i), 128);
                        if (policy.reservesAhead()) assertThat(s.blockIds()).hasSize((reserved + 7) / 8);
                    }
                    if (!policy.reservesAhead()) assertThat(r.slotsReserved()).isZero();
                }
                if (policy.reservesAhead()) assertThat(engine.stats().numPreemptions()).isZero();
                assertThat(engine.stats().numFreeBlocks()).as("%s leaks no block", policy).isEqualTo(32);
                assertThat(engine.kvReport().blocksUsed()).isZero();
            }
        }
        for (int i = 0; i < prompts.size(); i++) {
            assertThat(outputs.get(KvAllocationPolicy.PAGED).get(i)).hasSize(maxTokens.get(i));
            for (KvAllocationPolicy policy : KvAllocationPolicy.values()) {
                assertThat(outputs.get(policy).get(i)).as("%s request %d", policy, i)
                        .containsExactly(outputs.get(KvAllocationPolicy.PAGED).get(i));
            }
        }
        assertThat(largestBatch.get(KvAllocationPolicy.ORCA_MAX)).isEqualTo(2);
        assertThat(largestBatch.get(KvAllocationPolicy.PAGED))
                .isGreaterThan(largestBatch.get(KvAllocationPolicy.ORCA_POW2));
        assertThat(largestBatch.get(KvAllocationPolicy.ORCA_POW2))
                .isGreaterThan(largestBatch.get(KvAllocationPolicy.ORCA_MAX));
    }

    @Test
    void parallelSamplesShareThePromptBlocksInTheReport() {
        List<KvMemoryReport> reports = new CopyOnWriteArrayList<>();
        try (LLMEngine engine = start(64, 16, 8, 256, KvAllocationPolicy.PAGED, new SimpleMeterRegistry())) {
            engine.addKvReportListener(reports::add);
            SamplingParams two = SamplingParams.defaults(3).withSeed(7L).withIgnoreEos(true).withN(2, null);
            List<RequestOutput> outs = engine.generate("par", prompt(new Random(9), 20), two).collectList()
                    .block(TIMEOUT);
            assertThat(outs.getLast().finished()).isTrue();
        }
        // The prompt runs once; at its first token the request forks: two sequences, 20 tokens
        // each, in the same two blocks.
        KvMemoryReport forked = reports.stream().filter(r -> r.sequences().size() == 2).findFirst().orElseThrow();
        assertThat(forked.sequences()).extracting(KvMemoryReport.SequenceInfo::owner).containsOnly("par");
        assertThat(forked.sequences()).extracting(KvMemoryReport.SequenceInfo::numTokens).containsOnly(20);
        assertThat(forked.blocksUsed()).isEqualTo(2);
        assertThat(forked.blocksReferenced()).isEqualTo(4);
        assertThat(forked.blocksShared()).isEqualTo(2);
        assertThat(forked.sharingSavedBlocks()).isEqualTo(2);
        assertThat(forked.sharingSavedBytes()).isEqualTo(2 * forked.bytesPerBlock());
        assertThat(forked.tokensStored()).isEqualTo(20);
        assertThat(forked.blocks()).allSatisfy(b -> assertThat(b.refCount()).isEqualTo(2));
        // Next step both write token 21 into the shared second block: the first writer copies it.
        KvMemoryReport next = reports.get(reports.indexOf(forked) + 1);
        assertThat(next.sequences()).extracting(KvMemoryReport.SequenceInfo::numTokens).containsOnly(21);
        assertThat(next.blocksUsed()).isEqualTo(3);
        assertThat(next.blocksShared()).isEqualTo(1);
        assertThat(next.sharingSavedBlocks()).isEqualTo(1);
        assertThat(next.tokensStored()).isEqualTo(16 + 5 + 5);
    }

    @Test
    void gaugesSurviveGarbageCollection() {
        // Micrometer holds a gauge's state object weakly unless told otherwise.
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (LLMEngine engine = start(64, 16, 8, 256, KvAllocationPolicy.PAGED, registry)) {
            // A collection has run once an object only weakly held is gone.
            WeakReference<Object> canary = new WeakReference<>(new Object());
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                System.gc();
                return canary.get() == null;
            });
            assertThat(registry.get("quire_kv_blocks_total").gauge().value()).isEqualTo(64.0);
            assertThat(registry.get("quire_kv_blocks_used").gauge().value()).isZero();
            assertThat(registry.get("quire_num_requests_running").gauge().value()).isZero();
            assertThat(registry.get("quire_kv_cache_usage_perc").gauge().value()).isZero();
        }
    }
}
