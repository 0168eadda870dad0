package io.quire.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.Arrays;
import java.util.List;

/**
 * Speculative decoding around one step ({@link SpeculativeConfig}): before the scheduler runs, each
 * decoding sequence that may draft gets its {@link NgramProposer} draft; the scheduler runs the
 * drafted tokens after its last one, the model gives the logits at each of those positions (kept
 * here), and the {@link TokenProcessor} samples through them, keeping the drafts it would have
 * sampled anyway. Afterwards the drafts are dropped and what was accepted counted under vLLM's
 * {@code spec_decode} metrics. Engine thread only.
 */
final class SpeculativeDecoding {
    private final SpeculativeConfig config;
    private final NgramProposer proposer;
    private final int maxModelLen;
    private final EngineMetrics metrics;
    private final Counter drafts;
    private final Counter draftTokens;
    private final Counter acceptedTokens;
    private final Counter[] acceptedAt;

    // This step's: per scheduled sequence the drafted tokens it ran, their logits rows, and how many were kept.
    private int[] drafted = new int[0];
    private int[] accepted = new int[0];
    private float[][][] rows = new float[0][][];
    /** Rows handed out this step from {@link #pool}, reused step after step (a vocabulary's floats each). */
    private float[][] pool = new float[0][];
    private int pooled;

    SpeculativeDecoding(SpeculativeConfig config, int maxModelLen, EngineMetrics metrics, MeterRegistry registry,
            String modelName) {
        this.config = config;
        this.proposer = new NgramProposer(config.promptLookupMin(), config.promptLookupMax());
        this.maxModelLen = maxModelLen;
        this.metrics = metrics;
        drafts = Counter.builder("quire_spec_decode_num_drafts").tag("model_name", modelName)
                .description("Number of spec decoding drafts.").register(registry);
        draftTokens = Counter.builder("quire_spec_decode_num_draft_tokens").tag("model_name", modelName)
                .description("Number of draft tokens.").register(registry);
        acceptedTokens = Counter.builder("quire_spec_decode_num_accepted_tokens").tag("model_name", modelName)
                .description("Number of accepted tokens.").register(registry);
        acceptedAt = new Counter[config.numSpeculativeTokens()];
        for (int i = 0; i < acceptedAt.length; i++) {
            acceptedAt[i] = Counter.builder("quire_spec_decode_num_accepted_tokens_per_pos")
                    .tag("model_name", modelName).tag("position", Integer.toString(i))
                    .description("Accepted tokens per draft position.").register(registry);
        }
    }

    /**
     * Drafts for the running sequences that decode (one token to run) in a request that samples one
     * token at a time (not beam search, not an embedding), unless a sequence pauses after drafts it
     * did not keep ({@link Sequence#draftLength}): as many as the output and the context still have room
     * for after the token the step samples anyway. The others' drafts are cleared.
     */
    void propose(Scheduler scheduler) {
        List<Sequence> running = scheduler.runningView();
        boolean on = config.draftsAt(running.size());
        for (Sequence seq : running) {
            int k = 0;
            if (on && seq.numUncomputedTokens() == 1 && drafts(scheduler.requestOf(seq))) {
                int room = Math.min(seq.maxOutputTokens() - seq.numOutputTokens() - 1, maxModelLen - seq.numTokens());
                if (room > 0) k = Math.min(seq.draftLength(config.numSpeculativeTokens()), room);
            }
            seq.setDraft(k > 0 ? proposer.propose(seq.tokenArray(), seq.numTokens(), k) : NgramProposer.NONE);
        }
    }

    private static boolean drafts(Request r) {
        return !r.pooling && (r.kind() == Request.Kind.SINGLE || r.kind() == Request.Kind.PARALLEL && r.forked);
    }

    /**
     * Per scheduled sequence, whether it runs drafted tokens (and so wants every position's logits);
     * null when none does. Takes the step's measure before any token is appended.
     */
    boolean[] wanted(SchedulerOutput plan) {
        List<ScheduledSequence> scheduled = plan.scheduled();
        int n = scheduled.size();
        if (drafted.length < n) {
            drafted = new int[n];
            accepted = new int[n];
            rows = new float[n][][];
        }
        pooled = 0;
        boolean[] wanted = null;
        for (int i = 0; i < n; i++) {
            int d = scheduled.get(i).numDraftTokens();
            drafted[i] = d;
            accepted[i] = 0;
            if (d == 0) continue;
            if (wanted == null) wanted = new boolean[n];
            wanted[i] = true;
            if (rows[i] == null) rows[i] = new float[config.numSpeculativeTokens()][];
            Arrays.fill(rows[i], null);
        }
        return wanted;
    }

    /** Tokens scheduled sequence {@code i} drafted this step (0: none). */
    int drafted(int i) { return i < drafted.length ? drafted[i] : 0; }

    /** The logits at draft position {@code j} of scheduled sequence {@code i}: the row after its j-th new token. */
    float[] row(int i, int j) { return rows[i][j]; }

    /** Keeps a row the model hands over for position {@code position} of scheduled sequence {@code i}. */
    void accept(int i, ScheduledSequence ss, int position, float[] logits) {
        if (i >= drafted.length || drafted[i] == 0) return;
        int j = position - ss.start();
        if (j < 0 || j >= drafted[i]) return;
        if (pooled == pool.length) pool = Arrays.copyOf(pool, Math.max(4, 2 * pool.length));
        float[] row = pool[pooled];
        if (row == null || row.length != logits.length) row = pool[pooled] = new float[logits.length];
        pooled++;
        System.arraycopy(logits, 0, row, 0, logits.length);
        rows[i][j] = row;
    }

    /** Scheduled sequence {@code i} kept {@code n} of its drafted tokens. */
    void accepted(int i, int n) { accepted[i] = n; }

    /**
     * After the step's tokens are processed: every scheduled sequence's draft dropped, the blocks that
     * accepted drafts filled offered to the prefix cache, and the drafts counted.
     */
    void endStep(SchedulerOutput plan, Scheduler scheduler) {
        List<ScheduledSequence> scheduled = plan.scheduled();
        for (int i = 0; i < scheduled.size(); i++) {
            Sequence seq = scheduled.get(i).sequence();
            seq.setDraft(NgramProposer.NONE);
            if (drafted[i] == 0) continue;
            seq.draftKept(accepted[i]);
            if (accepted[i] > 0 && !seq.isFinished()) scheduler.cacheFullBlocks(seq);
            if (metrics.muted) continue;
            metrics.recordDraft(drafted[i], accepted[i]);
            drafts.increment();
            draftTokens.increment(drafted[i]);
            acceptedTokens.increment(accepted[i]);
            for (int j = 0; j < accepted[i]; j++) acceptedAt[j].increment();
        }
        pooled = 0;
    }
}
