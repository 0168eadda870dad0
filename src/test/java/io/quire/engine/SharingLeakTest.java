package io.quire.engine;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.kv.KvCacheManager;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Randomized workloads (fixed seeds) through the engine with {@link ToyModel}, whose output
 * depends on every KV slot read back: shared prefixes, n/best_of samples, beam search, aborts,
 * and both kinds of preemption in a tiny cache. Greedy single sequences must equal the model's
 * reference continuation; in the end every reference count is zero and both pools are full.
 */
class SharingLeakTest {

    @Test
    void randomWorkloadsLeaveNoBlockBehind() throws Exception {
        long swaps = 0, recomputes = 0, hits = 0, cows = 0;
        for (long seed = Long.getLong("leakSeed", 1); seed <= Long.getLong("leakSeedTo", 12); seed++) {
            Random rnd = new Random(seed);
            ToyModel model = new ToyModel(64, 4096);
            int bs = 2 + rnd.nextInt(6);
            int numBlocks = (96 + bs - 1) / bs + rnd.nextInt(30);
            PreemptionMode mode = PreemptionMode.values()[rnd.nextInt(3)];
            MeterRegistry reg = new SimpleMeterRegistry();
            TestEngines.Builder engine = TestEngines.with(model).blocks(numBlocks, bs).maxNumSeqs(4 + rnd.nextInt(12))
                    .maxNumBatchedTokens(8 + rnd.nextInt(64)).maxModelLen(96).swapBlocks(rnd.nextInt(30))
                    .preemptionMode(mode).prefixCaching(rnd.nextInt(4) != 0).registry(reg);
            try (LLMEngine e = engine.build()) {
                int[] shared = new int[20 + rnd.nextInt(40)];
                shared[0] = ToyTokenizer.BOS;
                for (int j = 1; j < shared.length; j++) shared[j] = 3 + rnd.nextInt(61);
                int numRequests = 30;
                CountDownLatch done = new CountDownLatch(numRequests);
                List<String> failures = new CopyOnWriteArrayList<>();
                List<Disposable> subs = new ArrayList<>();
                for (int i = 0; i < numRequests; i++) {
                    int[] prompt;
                    if (rnd.nextBoolean()) {
                        int keep = 1 + rnd.nextInt(shared.length);
                        prompt = Arrays.copyOf(shared, keep + rnd.nextInt(10));
                        for (int j = keep; j < prompt.length; j++) prompt[j] = 3 + rnd.nextInt(61);
                    } else {
                        prompt = new int[1 + rnd.nextInt(50)];
                        prompt[0] = ToyTokenizer.BOS;
                        for (int j = 1; j < prompt.length; j++) prompt[j] = 3 + rnd.nextInt(61);
                    }
                    int maxTokens = 1 + rnd.nextInt(25);
                    int kind = rnd.nextInt(4);
                    SamplingParams p = switch (kind) {
                        case 0 -> SamplingParams.greedy(maxTokens);
                        case 1 -> SamplingParams.defaults(maxTokens).withSeed(rnd.nextLong())
                                .withN(1 + rnd.nextInt(3), null);
                        case 2 -> SamplingParams.defaults(maxTokens).withSeed(rnd.nextLong())
                                .withN(1 + rnd.nextInt(2), 2 + rnd.nextInt(2));
                        default -> SamplingParams.greedy(maxTokens).withN(1 + rnd.nextInt(2), 2 + rnd.nextInt(2))
                                .withBeamSearch(rnd.nextFloat());
                    };
                    int[] expected = kind == 0 ? model.reference(prompt, maxTokens) : null;
                    int[] got = new int[200];
                    int[] n = {0};
                    String id = "r" + i;
                    Flux<RequestOutput> flux;
                    try {
                        flux = e.generate(id, prompt, p);
                    } catch (InvalidRequestException tooBig) {
                        continue; // a group that might not fit this small cache
                    }
                    subs.add(flux.subscribe(o -> {
                        if (expected == null) return;
                        for (int t : o.deltas().getFirst().tokenIds()) got[n[0]++] = t;
                        if (o.finished() && o.deltas().getFirst().finishReason() != FinishReason.ABORT
                                && !Arrays.equals(Arrays.copyOf(got, n[0]), expected)) {
                            failures.add(id + ": " + Arrays.toString(Arrays.copyOf(got, n[0])) + " != "
                                    + Arrays.toString(expected));
                        }
                    }, err -> { failures.add(id + " failed: " + err); done.countDown(); }, done::countDown));
                    if (rnd.nextInt(8) == 0) {
                        Thread.sleep(rnd.nextInt(3));
                        if (rnd.nextBoolean()) e.abort(id); else subs.getLast().dispose();
                    }
                }
                // Disposed subscriptions never complete: wait for the engine to go idle instead.
                try {
                    await().atMost(Duration.ofSeconds(60)).until(() -> idle(e));
                } catch (ConditionTimeoutException stillBusy) {
                    // The assertions below say what is left.
                }
                assertThat(failures).as("seed %d", seed).isEmpty();
                EngineStats s = e.stats();
                assertThat(s.numFreeBlocks()).as("seed %d: %s", seed, s).isEqualTo(s.numTotalBlocks());
                assertThat(s.numFreeSwapBlocks()).isEqualTo(s.numTotalSwapBlocks());
                e.shutdown();
                KvCacheManager kv = e.kvCacheManager();
                for (int b = 0; b < kv.numTotalBlocks(); b++) assertThat(kv.refCount(b))
                        .as("seed %d block %d", seed, b).isZero();
                for (int b = 0; b < kv.numSwapBlocks(); b++) assertThat(kv.swapRefCount(b)).isZero();
                assertThat(kv.numRequests()).isZero();
                assertThat(kv.numSwappedSequences()).isZero();
                swaps += (long) reg.get("quire_swapped_out_blocks").counter().count();
                hits += (long) reg.get("quire_prefix_cache_hits").counter().count();
                recomputes += (long) reg.get("quire_num_preemptions").counter().count();
                cows += kv.numCowCopies();
            }
        }
        // The workloads did exercise what they are meant to.
        assertThat(swaps).as("swapped blocks").isPositive();
        assertThat(recomputes).as("preemptions").isPositive();
        assertThat(hits).as("prefix cache hits").isPositive();
        assertThat(cows).as("copy-on-write copies").isPositive();
    }

    /** No request left, nothing running, waiting or swapped, every block free. */
    private static boolean idle(LLMEngine e) {
        EngineStats s = e.stats();
        return e.numActiveRequests() == 0 && s.running() == 0 && s.waiting() == 0 && s.swapped() == 0
                && s.numFreeBlocks() == s.numTotalBlocks();
    }
}
