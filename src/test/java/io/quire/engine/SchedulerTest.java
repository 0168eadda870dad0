package io.quire.engine;

import io.quire.kv.KvCacheManager;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The scheduler alone (no model): seeded random workloads against its invariants. */
class SchedulerTest {

    /** Queues a new greedy request and returns its sequence. */
    private static Sequence add(Scheduler s, String id, int promptLen, int maxTokens) {
        int[] prompt = new int[promptLen];
        for (int i = 0; i < promptLen; i++) prompt[i] = 5 + i % 50;
        Request request = new Request(id, prompt, SamplingParams.greedy(maxTokens), maxTokens, 0);
        s.addRequest(request);
        return request.sequences().getFirst();
    }

    @Test
    void longPromptIsChunkedAndMixedWithDecodes() {
        KvCacheManager kv = new KvCacheManager(100, 4);
        Scheduler s = new Scheduler(8, 16, kv);
        Sequence a = add(s, "a", 3, 5);
        SchedulerOutput o = s.schedule();
        assertThat(o.scheduled()).containsExactly(new ScheduledSequence(a, 0, 3));
        s.updateFromStep(o);
        a.appendOutput(7);

        Sequence b = add(s, "b", 40, 5);
        o = s.schedule();
        // a's decode token first, then the first 15-token chunk of b.
        assertThat(o.scheduled()).containsExactly(new ScheduledSequence(a, 3, 1), new ScheduledSequence(b, 0, 15));
        assertThat(o.scheduled().get(1).samples()).isFalse();
        s.updateFromStep(o);
        a.appendOutput(8);
        o = s.schedule();
        assertThat(o.scheduled()).containsExactly(new ScheduledSequence(a, 4, 1), new ScheduledSequence(b, 15, 15));
        s.updateFromStep(o);
        a.appendOutput(9);
        o = s.schedule();
        assertThat(o.scheduled()).containsExactly(new ScheduledSequence(a, 5, 1), new ScheduledSequence(b, 30, 10));
        assertThat(o.scheduled().get(1).samples()).isTrue();
        assertThat(o.numScheduledTokens()).isEqualTo(11);
    }

    @Test
    void preemptsTheMostRecentlyAdmittedAndPutsItFirstInLine() {
        KvCacheManager kv = new KvCacheManager(4, 4); // 16 tokens
        Scheduler s = new Scheduler(8, 64, kv);
        Sequence a = add(s, "a", 4, 8), b = add(s, "b", 4, 8), c = add(s, "c", 4, 8);
        SchedulerOutput o = s.schedule();
        assertThat(o.scheduled()).hasSize(3);
        s.updateFromStep(o);
        for (Sequence r : List.of(a, b, c)) r.appendOutput(9);
        Sequence d = add(s, "d", 4, 8);
        // Each needs a second block now; only one is free: a gets it, b's allocation preempts c.
        o = s.schedule();
        assertThat(o.preempted()).containsExactly(c);
        assertThat(o.scheduled()).extracting(ScheduledSequence::sequence).containsExactly(a, b);
        assertThat(s.waiting()).containsExactly(c, d);
        assertThat(c.state()).isEqualTo(SequenceState.WAITING);
        assertThat(c.numComputedTokens()).isZero();
        assertThat(c.numPreemptions()).isEqualTo(1);
        assertThat(s.numPreemptions()).isEqualTo(1);
        assertThat(kv.numBlocks("c")).isZero();
    }

    /** Queues a new greedy request of {@code priority}, arrived at {@code arrival}, and returns its sequence. */
    private static Sequence add(Scheduler s, String id, int promptLen, int maxTokens, int priority, long arrival) {
        int[] prompt = new int[promptLen];
        for (int i = 0; i < promptLen; i++) prompt[i] = 5 + i % 50;
        Request request = new Request(id, prompt, SamplingParams.greedy(maxTokens), maxTokens, arrival, null, null,
                priority);
        s.addRequest(request);
        return request.sequences().getFirst();
    }

    private static Scheduler scheduler(int maxNumSeqs, KvCacheManager kv, SchedulingPolicy policy) {
        return new Scheduler(maxNumSeqs, 64, kv, PreemptionMode.RECOMPUTE, io.quire.kv.KvAllocationPolicy.PAGED,
                Integer.MAX_VALUE, policy);
    }

    @Test
    void underThePriorityPolicyTheWaitingQueueIsInPriorityThenArrivalOrder() {
        Scheduler s = scheduler(1, new KvCacheManager(100, 4), SchedulingPolicy.PRIORITY);
        Sequence a = add(s, "a", 4, 4, 0, 1), b = add(s, "b", 4, 4, 5, 2), c = add(s, "c", 4, 4, 1, 3),
                d = add(s, "d", 4, 4, 1, 4), e = add(s, "e", 4, 4, -3, 5);
        assertThat(s.waiting()).containsExactly(e, a, c, d, b);
        SchedulerOutput o = s.schedule();
        assertThat(o.scheduled()).extracting(ScheduledSequence::sequence).containsExactly(e);
    }

    @Test
    void underThePriorityPolicyTheVictimIsTheRunningRequestLastInPriorityOrderNotTheLatest() {
        for (SchedulingPolicy policy : SchedulingPolicy.values()) {
            KvCacheManager kv = new KvCacheManager(3, 4); // 12 tokens
            Scheduler s = scheduler(8, kv, policy);
            // a (priority 5) runs alone, then b (priority 0, under FCFS 0 too: only the order matters) joins
            Sequence a = add(s, "a", 4, 8, policy == SchedulingPolicy.PRIORITY ? 5 : 0, 1);
            SchedulerOutput o = s.schedule();
            s.updateFromStep(o);
            a.appendOutput(9);
            Sequence b = add(s, "b", 4, 8, 0, 2);
            o = s.schedule();  // a takes its second block, b its first: none left
            assertThat(o.scheduled()).extracting(ScheduledSequence::sequence).containsExactly(a, b);
            s.updateFromStep(o);
            a.appendOutput(9);
            b.appendOutput(9);
            // b needs a second block: FCFS preempts the latest admitted (b itself), PRIORITY the worst (a)
            o = s.schedule();
            Sequence victim = policy == SchedulingPolicy.PRIORITY ? a : b, other = victim == a ? b : a;
            assertThat(o.preempted()).as(policy.name()).containsExactly(victim);
            assertThat(o.scheduled()).extracting(ScheduledSequence::sequence).containsExactly(other);
            assertThat(s.waiting()).containsExactly(victim);
            assertThat(kv.numBlocks(victim.seqId())).isZero();
        }
    }

    @Test
    void aPreemptedRequestWaitsAtItsPlaceInPriorityOrder() {
        KvCacheManager kv = new KvCacheManager(2, 4);
        Scheduler s = scheduler(1, kv, SchedulingPolicy.PRIORITY);
        Sequence a = add(s, "a", 4, 8, 3, 1);
        SchedulerOutput o = s.schedule();
        s.updateFromStep(o);
        a.appendOutput(9);
        o = s.schedule();
        s.updateFromStep(o);
        a.appendOutput(9);
        Sequence b = add(s, "b", 4, 8, 1, 2), c = add(s, "c", 4, 8, 7, 3);
        assertThat(s.waiting()).containsExactly(b, c);
        // a fills its two blocks at 8 tokens, then needs a third: it preempts itself, and goes back between b and c
        for (int i = 0; i < 10; i++) {
            o = s.schedule();
            s.updateFromStep(o);
            if (!o.preempted().isEmpty()) break;
            a.appendOutput(9);
        }
        assertThat(o.preempted()).containsExactly(a);
        assertThat(s.waiting()).containsExactly(b, a, c);
    }

    @Test
    void randomWorkloadsKeepEveryInvariant() {
        long totalPreemptions = 0, totalChunks = 0;
        for (long seed = 1; seed <= 40; seed++) {
            Random rnd = new Random(seed);
            int blockSize = 1 + rnd.nextInt(8);
            int numBlocks = 4 + rnd.nextInt(30);
            int capacity = numBlocks * blockSize;
            int maxSeqs = 1 + rnd.nextInt(6);
            int maxBatched = 1 + rnd.nextInt(48);
            KvCacheManager kv = new KvCacheManager(numBlocks, blockSize);
            Scheduler s = new Scheduler(maxSeqs, maxBatched, kv);

            List<Sequence> all = new ArrayList<>();
            Set<Sequence> aborted = new HashSet<>();
            int toArrive = 30 + rnd.nextInt(30);
            for (int step = 0; s.hasWork() || all.size() < toArrive; step++) {
                assertThat(step).as("seed %d makes progress", seed).isLessThan(200_000);
                while (all.size() < toArrive && rnd.nextInt(3) == 0) {
                    int prompt = 1 + rnd.nextInt(Math.min(60, capacity - 1));
                    int max = 1 + rnd.nextInt(Math.min(30, capacity - prompt));
                    all.add(add(s, "r" + all.size(), prompt, max));
                }
                if (rnd.nextInt(25) == 0 && s.hasWork()) {
                    List<Sequence> live = new ArrayList<>(s.running());
                    live.addAll(s.waiting());
                    Sequence victim = live.get(rnd.nextInt(live.size()));
                    s.finishSequence(victim, FinishReason.ABORT);
                    aborted.add(victim);
                }

                List<Sequence> runningBefore = s.running();
                List<Sequence> waitingBefore = s.waiting();
                SchedulerOutput o = s.schedule();

                int tokens = 0;
                Set<Sequence> seen = new HashSet<>();
                for (ScheduledSequence sr : o.scheduled()) {
                    Sequence r = sr.sequence();
                    assertThat(seen.add(r)).as("scheduled once").isTrue();
                    assertThat(sr.start()).isEqualTo(r.numComputedTokens());
                    assertThat(sr.numNewTokens()).isPositive();
                    assertThat(sr.start() + sr.numNewTokens()).isLessThanOrEqualTo(r.numTokens());
                    assertThat(kv.numBlocks(r.seqId()) * blockSize).as("blocks cover the step")
                            .isGreaterThanOrEqualTo(sr.start() + sr.numNewTokens());
                    assertThat(r.state()).isEqualTo(SequenceState.RUNNING);
                    if (!sr.samples()) totalChunks++;
                    tokens += sr.numNewTokens();
                }
                assertThat(o.numScheduledTokens()).isEqualTo(tokens).isLessThanOrEqualTo(maxBatched);
                assertThat(s.numRunning()).isLessThanOrEqualTo(maxSeqs);

                // Preemption takes running requests from the most recently admitted backwards.
                List<Sequence> p = o.preempted();
                for (int k = 0; k < p.size(); k++) {
                    assertThat(p.get(k)).isSameAs(runningBefore.get(runningBefore.size() - 1 - k));
                    assertThat(p.get(k).numComputedTokens()).isZero();
                    assertThat(kv.numBlocks(p.get(k).seqId())).isZero();
                }
                assertThat(s.waiting().subList(0, p.size())).containsExactlyElementsOf(p.reversed());
                totalPreemptions += p.size();

                // New admissions come from the head of the waiting queue, in order, and only without preemption.
                List<Sequence> admitted = o.scheduled().stream().map(ScheduledSequence::sequence)
                        .filter(r -> !runningBefore.contains(r)).toList();
                if (!p.isEmpty()) assertThat(admitted).isEmpty();
                assertThat(admitted).containsExactlyElementsOf(waitingBefore.subList(0, admitted.size()));

                s.updateFromStep(o);
                for (ScheduledSequence sr : o.scheduled()) {
                    Sequence r = sr.sequence();
                    assertThat(r.numComputedTokens()).isEqualTo(sr.start() + sr.numNewTokens());
                    if (r.numUncomputedTokens() == 0) {
                        r.appendOutput(5 + rnd.nextInt(50));
                        if (r.numOutputTokens() >= r.maxOutputTokens()) s.finishSequence(r, FinishReason.LENGTH);
                    }
                }

                int held = 0;
                for (Sequence r : s.running()) held += kv.numBlocks(r.seqId());
                for (Sequence r : s.waiting()) assertThat(kv.numBlocks(r.seqId())).isZero();
                assertThat(held + kv.numFreeBlocks()).as("no block is lost").isEqualTo(numBlocks);
            }
            assertThat(kv.numFreeBlocks()).as("seed %d: pool full again", seed).isEqualTo(numBlocks);
            assertThat(kv.numRequests()).isZero();
            for (Sequence r : all) {
                assertThat(r.isFinished()).isTrue();
                if (!aborted.contains(r)) assertThat(r.numOutputTokens()).isEqualTo(r.maxOutputTokens());
            }
        }
        assertThat(totalPreemptions).as("the workloads exercise preemption").isPositive();
        assertThat(totalChunks).as("the workloads exercise chunked prefill").isPositive();
    }
}
