package io.quire.engine;

import io.quire.kv.KvCacheManager;
import io.quire.kv.KvAllocationPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The scheduler under each KV allocation policy (no model): reservations, admission limits, no leaks. */
class KvAllocationPolicySchedulerTest {
    private static final int BLOCK = 16;
    private static final int MAX_MODEL_LEN = 512;

    private static Request request(String id, int promptLen, int maxTokens) {
        int[] prompt = new int[promptLen];
        for (int i = 0; i < promptLen; i++) prompt[i] = 5 + i % 50;
        return new Request(id, prompt, SamplingParams.greedy(maxTokens), maxTokens, 0);
    }

    /** Runs a step as the engine would: every request that completed its tokens samples one more; finished ones leave. */
    private static void completeStep(Scheduler s, SchedulerOutput o) {
        s.updateFromStep(o);
        for (ScheduledRequest sr : o.scheduled()) {
            Request r = sr.request();
            if (r.isFinished() || r.numUncomputedTokens() != 0) continue;
            r.appendOutput(7);
            if (r.numOutputTokens() >= r.maxTokens()) s.finishRequest(r, FinishReason.LENGTH);
        }
    }

    @Test
    void eachOrcaPolicyReservesWhatItSaysAndHoldsItToTheEnd() {
        // prompt 20 + 50 outputs = 70 tokens: Max 512 (32 blocks), Pow2 128 (8 blocks), Oracle 70 (5 blocks).
        int[] expectedBlocks = {0, 32, 8, 5};
        for (KvAllocationPolicy policy : KvAllocationPolicy.values()) {
            KvCacheManager kv = new KvCacheManager(64, BLOCK);
            Scheduler s = new Scheduler(64, 2048, kv, policy, MAX_MODEL_LEN);
            Request r = request("r", 20, 50);
            s.addRequest(r);
            SchedulerOutput o = s.schedule();
            assertThat(o.scheduled()).containsExactly(new ScheduledRequest(r, 0, 20)); // the reservation is memory, not compute
            int reserved = policy == KvAllocationPolicy.PAGED ? 2 : expectedBlocks[policy.ordinal()];
            assertThat(kv.numBlocks("r")).as("%s", policy).isEqualTo(reserved);
            assertThat(policy.reservedTokens(20, 50, MAX_MODEL_LEN)).isEqualTo(policy == KvAllocationPolicy.PAGED ? 0
                    : policy == KvAllocationPolicy.ORCA_MAX ? 512 : policy == KvAllocationPolicy.ORCA_POW2 ? 128 : 70);
            while (!r.isFinished()) {
                completeStep(s, o);
                if (r.isFinished()) break;
                if (policy.reservesAhead()) assertThat(kv.numBlocks("r")).as("%s never grows", policy).isEqualTo(reserved);
                o = s.schedule();
            }
            assertThat(r.numTokens()).isEqualTo(70);
            assertThat(kv.numFreeBlocks()).as("%s leaves the pool full", policy).isEqualTo(64);
        }
    }

    @Test
    void reservationsAdmitFewerRequestsThanPaging() {
        // 64 blocks = 1024 tokens; 40 requests of 20 + 50 tokens.
        int[] admitted = new int[KvAllocationPolicy.values().length];
        for (KvAllocationPolicy policy : KvAllocationPolicy.values()) {
            KvCacheManager kv = new KvCacheManager(64, BLOCK);
            Scheduler s = new Scheduler(256, 4096, kv, policy, MAX_MODEL_LEN);
            for (int i = 0; i < 40; i++) s.addRequest(request("r" + i, 20, 50));
            s.schedule();
            admitted[policy.ordinal()] = s.numRunning();
        }
        assertThat(admitted[KvAllocationPolicy.PAGED.ordinal()]).isEqualTo(32);      // 2 blocks each for the prompt
        assertThat(admitted[KvAllocationPolicy.ORCA_MAX.ordinal()]).isEqualTo(2);    // 32 blocks each
        assertThat(admitted[KvAllocationPolicy.ORCA_POW2.ordinal()]).isEqualTo(8);   // 8 blocks each
        assertThat(admitted[KvAllocationPolicy.ORCA_ORACLE.ordinal()]).isEqualTo(12); // 5 blocks each
    }

    @ParameterizedTest
    @EnumSource(KvAllocationPolicy.class)
    void randomWorkloadsNeverLeakAndOrcaNeverPreempts(KvAllocationPolicy policy) {
        Random rnd = new Random(11);
        KvCacheManager kv = new KvCacheManager(48, BLOCK);
        Scheduler s = new Scheduler(32, 256, kv, policy, MAX_MODEL_LEN);
        List<Request> all = new ArrayList<>();
        int next = 0;
        for (int step = 0; step < 100_000 && (next < 150 || s.hasWork()); step++) {
            while (next < 150 && rnd.nextInt(3) == 0) {
                int prompt = 1 + rnd.nextInt(200);
                Request r = request("q" + next++, prompt, 1 + rnd.nextInt(Math.min(200, MAX_MODEL_LEN - prompt)));
                all.add(r);
                s.addRequest(r);
            }
            if (rnd.nextInt(50) == 0 && s.numRunning() > 0) s.finishRequest(s.running().get(rnd.nextInt(s.numRunning())), FinishReason.ABORT);
            SchedulerOutput o = s.schedule();
            for (ScheduledRequest sr : o.scheduled()) {
                Request r = sr.request();
                if (policy.reservesAhead()) {
                    assertThat(kv.numBlocks(r.requestId())).isEqualTo(kv.blocksFor(policy.reservedTokens(r.numPromptTokens(), r.maxTokens(), MAX_MODEL_LEN)));
                }
            }
            completeStep(s, o);
        }
        assertThat(all).allMatch(Request::isFinished);
        assertThat(kv.numFreeBlocks()).isEqualTo(48);
        assertThat(kv.numRequests()).isZero();
        if (policy.reservesAhead()) assertThat(s.numPreemptions()).isZero();
        else assertThat(s.numPreemptions()).as("the workload is tight enough to preempt under paging").isPositive();
    }

    @Test
    void anOrcaPolicyNeedsAMaximumModelLength() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Scheduler(8, 64, new KvCacheManager(8, BLOCK), KvAllocationPolicy.ORCA_MAX, Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maximum model length");
    }
}
