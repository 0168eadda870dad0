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
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The scheduler under each KV allocation policy (no model): reservations, admission limits, no leaks. */
class KvAllocationPolicySchedulerTest {
    private static final int BLOCK = 16;
    private static final int MAX_MODEL_LEN = 512;

    /** Queues a new greedy request and returns its sequence. */
    private static Sequence add(Scheduler s, String id, int promptLen, int maxTokens) {
        int[] prompt = new int[promptLen];
        for (int i = 0; i < promptLen; i++) prompt[i] = 5 + i % 50;
        Request request = new Request(id, prompt, SamplingParams.greedy(maxTokens), maxTokens, 0);
        s.addRequest(request);
        return request.sequences().getFirst();
    }

    /**
     * Runs a step as the engine would: every request that completed its tokens samples one more;
     * finished ones leave.
     */
    private static void completeStep(Scheduler s, SchedulerOutput o) {
        s.updateFromStep(o);
        for (ScheduledSequence sr : o.scheduled()) {
            Sequence r = sr.sequence();
            if (r.isFinished() || r.numUncomputedTokens() != 0) continue;
            r.appendOutput(7);
            if (r.numOutputTokens() >= r.maxOutputTokens()) s.finishSequence(r, FinishReason.LENGTH);
        }
    }

    @Test
    void eachOrcaPolicyReservesWhatItSaysAndHoldsItToTheEnd() {
        // prompt 20 + 50 outputs = 70 tokens: Max 512 (32 blocks), Pow2 128 (8 blocks), Oracle 70 (5 blocks).
        int[] expectedBlocks = {0, 32, 8, 5};
        for (KvAllocationPolicy policy : KvAllocationPolicy.values()) {
            KvCacheManager kv = new KvCacheManager(64, BLOCK);
            Scheduler s = new Scheduler(64, 2048, kv, policy, MAX_MODEL_LEN);
            Sequence r = add(s, "r", 20, 50);
            SchedulerOutput o = s.schedule();
            // The reservation is memory, not compute.
            assertThat(o.scheduled()).containsExactly(new ScheduledSequence(r, 0, 20));
            int reserved = policy == KvAllocationPolicy.PAGED ? 2 : expectedBlocks[policy.ordinal()];
            assertThat(kv.numBlocks("r")).as("%s", policy).isEqualTo(reserved);
            assertThat(policy.reservedTokens(20, 50, MAX_MODEL_LEN)).isEqualTo(policy == KvAllocationPolicy.PAGED ? 0
                    : policy == KvAllocationPolicy.ORCA_MAX ? 512 : policy == KvAllocationPolicy.ORCA_POW2 ? 128 : 70);
            while (!r.isFinished()) {
                completeStep(s, o);
                if (r.isFinished()) break;
                if (policy.reservesAhead()) {
                    assertThat(kv.numBlocks("r")).as("%s never grows", policy).isEqualTo(reserved);
                }
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
            for (int i = 0; i < 40; i++) add(s, "r" + i, 20, 50);
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
        List<Sequence> all = new ArrayList<>();
        int next = 0;
        for (int step = 0; step < 100_000 && (next < 150 || s.hasWork()); step++) {
            while (next < 150 && rnd.nextInt(3) == 0) {
                int prompt = 1 + rnd.nextInt(200);
                all.add(add(s, "q" + next++, prompt, 1 + rnd.nextInt(Math.min(200, MAX_MODEL_LEN - prompt))));
            }
            if (rnd.nextInt(50) == 0 && s.numRunning() > 0) {
                s.finishSequence(s.running().get(rnd.nextInt(s.numRunning())), FinishReason.ABORT);
            }
            SchedulerOutput o = s.schedule();
            for (ScheduledSequence sr : o.scheduled()) {
                Sequence r = sr.sequence();
                if (policy.reservesAhead()) {
                    int reserved = policy.reservedTokens(r.numPromptTokens(), r.maxOutputTokens(), MAX_MODEL_LEN);
                    assertThat(kv.numBlocks(r.seqId())).isEqualTo(kv.blocksFor(reserved));
                }
            }
            completeStep(s, o);
        }
        assertThat(all).allMatch(Sequence::isFinished);
        assertThat(kv.numFreeBlocks()).isEqualTo(48);
        assertThat(kv.numRequests()).isZero();
        if (policy.reservesAhead()) assertThat(s.numPreemptions()).isZero();
        else assertThat(s.numPreemptions()).as("the workload is tight enough to preempt under paging").isPositive();
    }

    @Test
    void anOrcaPolicyNeedsAMaximumModelLength() {
        assertThatThrownBy(() -> new Scheduler(8, 64, new KvCacheManager(8, BLOCK), KvAllocationPolicy.ORCA_MAX,
                Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maximum model length");
    }
}
