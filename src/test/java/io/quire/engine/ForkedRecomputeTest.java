package io.quire.engine;

import io.quire.kv.KvAllocationPolicy;
import io.quire.kv.KvCacheManager;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * A forked request (beam search, n or best_of > 1) whose sequences are recomputed: validation only
 * promises that the request fits the cache with its sequences sharing the prompt's blocks, so a
 * recompute that gave each its own copy of the prompt could need more than the whole cache, be
 * admitted by its first chunk, preempt itself and come back forever (SharingLeakTest seed 11: a
 * beam search of width 3 with three 37-token beams, 19 blocks each, in a cache of 56). The scheduler
 * driven alone, with a stand-in for the model and the token processing.
 */
class ForkedRecomputeTest {
    private static final int BLOCK = 2, BLOCKS = 56, PROMPT = 35, MAX_TOKENS = 14, WIDTH = 3;

    private final KvCacheManager kv = new KvCacheManager(BLOCKS, BLOCK, false, 0);
    private final Scheduler s = new Scheduler(7, 48, kv, PreemptionMode.RECOMPUTE, KvAllocationPolicy.PAGED, 96);

    private static int[] prompt(int len) {
        int[] p = new int[len];
        for (int i = 0; i < len; i++) p[i] = 3 + (i * 7) % 61;
        return p;
    }

    /**
     * A request of {@code WIDTH} sequences of {@code outputs} output tokens each that was preempted by
     * recompute: all waiting, nothing computed, their prompt in common (the state seed 11 was stuck in).
     */
    private Request recomputedGroup(String id, SamplingParams params, int outputs) {
        Request r = new Request(id, prompt(PROMPT), params, MAX_TOKENS, 0);
        s.addRequest(r);
        Sequence first = r.sequences().getFirst();
        r.forked = true;
        for (int i = 1; i < WIDTH; i++) s.fork(first, r.fork(first, i, first.samplingState().copyForBeam()));
        for (Sequence q : r.sequences()) for (int k = 0; k < outputs; k++) q.appendOutput(10 + q.index() + k);
        assertThat(s.waiting()).hasSize(WIDTH).allSatisfy(q -> assertThat(q.numComputedTokens()).isZero());
        return r;
    }

    /**
     * Runs steps until nothing is left. Beam search as {@link BeamSearch} does it: a beam whose last
     * token is computed waits, with its blocks, until every live beam of its request has its logits; then
     * each takes a token. Other requests' sequences take a token as soon as their last one is computed.
     */
    private void runToTheEnd() {
        Set<Sequence> pending = new HashSet<>();
        int steps = 0;
        while (s.hasWork()) {
            assertThat(steps++).as("steps: %d preemptions, running %s", s.numPreemptions(), s.running())
                    .isLessThan(5_000);
            SchedulerOutput o = s.schedule();
            for (Sequence p : o.preempted()) if (p.state() == SequenceState.WAITING) pending.remove(p);
            s.updateFromStep(o);
            List<Sequence> done = new ArrayList<>();
            for (ScheduledSequence sr : o.scheduled()) {
                if (sr.sequence().numUncomputedTokens() == 0) done.add(sr.sequence());
            }
            for (Sequence q : done) {
                Request r = s.requestOf(q);
                if (r.kind() != Request.Kind.BEAM) {
                    take(q);
                    continue;
                }
                pending.add(q);
                if (!pending.containsAll(r.sequences())) continue;
                for (Sequence beam : r.sequences()) {
                    pending.remove(beam);
                    take(beam);
                }
            }
        }
    }

    private void take(Sequence q) {
        q.appendOutput(10 + q.index() + q.numOutputTokens());
        if (q.numOutputTokens() >= q.maxOutputTokens()) s.finishSequence(q, FinishReason.LENGTH);
    }

    @Test
    void aRecomputedBeamSearchThatFitsOnlySharingItsPromptFinishes() {
        SamplingParams beams = SamplingParams.greedy(MAX_TOKENS).withN(1, WIDTH).withBeamSearch(1f);
        // Valid: 18 blocks of prompt once and 8 per beam make 42 of the 56.
        assertThatCode(() -> RequestValidator.validateSequences(PROMPT, MAX_TOKENS, beams, 7, kv))
                .doesNotThrowAnyException();
        Request r = recomputedGroup("beams", beams, 2);
        // Each beam's 37 tokens alone take 19 blocks: three copies would need 57.
        assertThat(WIDTH * kv.blocksFor(PROMPT + 2)).isGreaterThan(BLOCKS);

        runToTheEnd();

        assertThat(r.all).allSatisfy(q -> assertThat(q.numOutputTokens()).isEqualTo(MAX_TOKENS));
        assertThat(s.numPreemptions()).isZero();
        assertThat(kv.numFreeBlocks()).isEqualTo(BLOCKS);
        assertThat(kv.numRequests()).isZero();
    }

    @Test
    void aRecomputedParallelRequestSharesItsPromptAgain() {
        SamplingParams three = SamplingParams.defaults(MAX_TOKENS).withSeed(1L).withN(WIDTH, null);
        Request r = recomputedGroup("par", three, 3);
        List<Integer> used = new ArrayList<>();
        Set<Sequence> seen = new HashSet<>();
        while (s.hasWork()) {
            SchedulerOutput o = s.schedule();
            used.add(kv.numUsedBlocks());
            for (ScheduledSequence sr : o.scheduled()) {
                // Each of the others starts after the 17 full blocks of the prompt it takes from the first.
                if (seen.add(sr.sequence())) {
                    assertThat(sr.start()).isEqualTo(sr.sequence().index() == 0 ? 0 : PROMPT / BLOCK * BLOCK);
                }
            }
            s.updateFromStep(o);
            for (ScheduledSequence sr : o.scheduled()) {
                if (sr.sequence().numUncomputedTokens() == 0) take(sr.sequence());
            }
        }
        assertThat(r.all).allSatisfy(q -> assertThat(q.numOutputTokens()).isEqualTo(MAX_TOKENS));
        // The prompt's full blocks once: never more than validation counted (18 + 3 * 8).
        assertThat(used).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(42));
        assertThat(s.numPreemptions()).isZero();
        assertThat(kv.numFreeBlocks()).isEqualTo(BLOCKS);
    }
}
