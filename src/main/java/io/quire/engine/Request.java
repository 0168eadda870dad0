package io.quire.engine;

import io.quire.engine.structured.ConstraintState;
import io.quire.engine.structured.TokenConstraint;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * One client request and the sequences generated for it (vLLM V0's {@code SequenceGroup}; in vLLM
 * v1 terms a parent request with child requests). It creates and owns its sequences, which share
 * its prompt's KV blocks; a plain request has one. With {@code n}/{@code best_of} > 1 the prompt
 * runs once as one sequence; at its first token it forks into {@code best_of} sequences that share
 * every block (copy-on-write). With beam search the live beams are its sequences; each step they
 * fork and are dropped. Owned by the engine thread.
 */
public final class Request {
    /** How the request's sequences come about. */
    public enum Kind { SINGLE, PARALLEL, BEAM }

    /** A beam's candidate continuation: a token and its logprob. */
    record Candidate(int tokenId, double logprob) {}

    /** A finished beam as returned to the client. */
    record BeamResult(int[] outputIds, double cumulativeLogprob, double score, FinishReason reason) {}

    private final String requestId;
    private final SamplingParams params;
    private final int numPromptTokens;
    private final long arrivalNanos;
    private final String cacheSalt;
    private final String adapter;
    private final String prefixCacheKey;
    private final int priority;
    private final Kind kind;
    private final int width;
    /** Live sequences (running, waiting or swapped), in creation order (beams: best first). */
    final List<Sequence> live = new ArrayList<>();
    /** Every sequence ever created, for parallel sampling's output index. */
    final List<Sequence> all = new ArrayList<>();
    /** Beam search: the candidates of each live beam whose logits are computed this beam step. */
    final Map<Sequence, List<Candidate>> pending = new IdentityHashMap<>();
    /** Beam search: beams that ended (EOS, or length). */
    final List<BeamResult> completed = new ArrayList<>();
    /** Prompt logprobs so far, entry i for prompt token i + 1 ({@link PromptLogprobs}); null: not asked for. */
    final List<PromptLogprob> promptLogprobs;
    private boolean promptLogprobsSent;
    /**
     * Whether the request asks for its prompt's embedding (its last token's final hidden state) rather
     * than text: it runs its prompt and one greedy token nobody sees. Set before it is queued.
     */
    boolean pooling;
    /** The embedding once the prompt's last token has run ({@link EngineCore}); null until then. */
    float[] embedding;
    boolean forked;
    private boolean finished;
    private FinishReason finishReason;
    /** Output tokens of the returned sequences once chosen (held outputs), else -1. */
    int returned = -1;
    private int nextSeqNumber = 1;

    long firstScheduledNanos = -1;
    /** Places this request holds in the engine's waiting queue until it is first scheduled. */
    int waitingSlots;
    long firstTokenNanos = -1;
    long lastTokenNanos = -1;

    /**
     * A new request with its first sequence.
     *
     * @param maxOutputTokens the resolved output limit ({@link RequestValidator#validate})
     * @param cacheSalt       mixed into its prefix-cache hashes (vLLM's {@code cache_salt}; null: none)
     */
    public Request(String requestId, int[] promptIds, SamplingParams params, int maxOutputTokens, long arrivalNanos,
                   String cacheSalt) {
        this(requestId, promptIds, params, maxOutputTokens, arrivalNanos, cacheSalt, null);
    }

    /** As above, its output held to {@code constraint} (compiled from {@code params.constraint()}; null: none). */
    Request(String requestId, int[] promptIds, SamplingParams params, int maxOutputTokens, long arrivalNanos,
            String cacheSalt, TokenConstraint constraint) {
        this(requestId, promptIds, params, maxOutputTokens, arrivalNanos, cacheSalt, constraint, 0);
    }

    /** As above, with its {@code priority} under {@link SchedulingPolicy#PRIORITY} (lower first). */
    Request(String requestId, int[] promptIds, SamplingParams params, int maxOutputTokens, long arrivalNanos,
            String cacheSalt, TokenConstraint constraint, int priority) {
        this(requestId, promptIds, params, maxOutputTokens, arrivalNanos, cacheSalt, constraint, priority, null, 0);
    }

    /**
     * As above, run with LoRA adapter {@code adapter} (null: the base model), the model's
     * {@code adapterSlot}-th (0 for none).
     */
    Request(String requestId, int[] promptIds, SamplingParams params, int maxOutputTokens, long arrivalNanos,
            String cacheSalt, TokenConstraint constraint, int priority, String adapter, int adapterSlot) {
        if ((adapter == null) != (adapterSlot == 0)) throw new IllegalArgumentException("adapter " + adapter
                + " in slot " + adapterSlot);
        Sequence first = new Sequence(requestId, promptIds, params, maxOutputTokens,
                constraint == null ? null : new ConstraintState(constraint), adapterSlot);
        this.adapter = adapter;
        // One string per (adapter, salt), never equal to another pair's: KV computed with one adapter
        // (or none) is never a cache hit for another, whatever salt a client sends.
        this.prefixCacheKey = adapter == null && cacheSalt == null ? null
                : (adapter == null ? "" : "a" + adapter.length() + ":" + adapter)
                        + (cacheSalt == null ? "" : "s" + cacheSalt);
        this.requestId = requestId;
        this.params = params;
        this.numPromptTokens = promptIds.length;
        this.arrivalNanos = arrivalNanos;
        this.cacheSalt = cacheSalt;
        this.priority = priority;
        this.kind = params.useBeamSearch() ? Kind.BEAM : params.width() > 1 ? Kind.PARALLEL : Kind.SINGLE;
        this.width = params.width();
        this.promptLogprobs = params.promptLogprobs() == null ? null : new ArrayList<>(promptIds.length);
        live.add(first);
        all.add(first);
    }

    public Request(String requestId, int[] promptIds, SamplingParams params, int maxOutputTokens, long arrivalNanos) {
        this(requestId, promptIds, params, maxOutputTokens, arrivalNanos, null);
    }

    /** Forks {@code parent} into a new sequence of this request (id {@code requestId#k}). */
    Sequence fork(Sequence parent, int index, SamplingState state) {
        Sequence child = parent.fork(requestId + "#" + nextSeqNumber++, index, state);
        live.add(child);
        all.add(child);
        return child;
    }

    /** The client's request id. */
    public String requestId() { return requestId; }

    /** Mixed into its prefix-cache block hashes: other salts never share its cached blocks (null: none). */
    public String cacheSalt() { return cacheSalt; }

    /** The LoRA adapter it runs with, null for the base model. */
    public String adapter() { return adapter; }

    /** What its prefix-cache block hashes mix in: its adapter and salt (null: neither). */
    String prefixCacheKey() { return prefixCacheKey; }

    public SamplingParams params() { return params; }

    /** Lower is served first under {@link SchedulingPolicy#PRIORITY}; 0 unless the client set it. */
    public int priority() { return priority; }

    /** Whether this request comes after {@code other} in priority order (priority, then arrival). */
    boolean after(Request other) {
        if (priority != other.priority) return priority > other.priority;
        return arrivalNanos > other.arrivalNanos;
    }

    public int numPromptTokens() { return numPromptTokens; }

    public long arrivalNanos() { return arrivalNanos; }

    public Kind kind() { return kind; }

    /** Sequences generated: best_of (or n); the beam width for beam search. */
    public int width() { return width; }

    /** Sequences returned to the client. */
    public int n() { return params.n(); }

    /** Whether outputs wait for the end (best_of > n or beam search) instead of streaming. */
    public boolean holdsOutputs() { return kind == Kind.BEAM || width > params.n(); }

    /** Live sequences (a copy). */
    public List<Sequence> sequences() { return List.copyOf(live); }

    /** Sequences the request may run at once: what preemption must make room for (vLLM's get_max_num_running_seqs). */
    public int maxRunningSeqs() {
        if (kind == Kind.SINGLE) return 1;
        return forked ? live.size() : width;
    }

    /** Tokens generated for the client so far: every sequence while streaming, the returned ones at the end. */
    int completionTokens() {
        if (returned >= 0) return returned;
        int n = 0;
        for (Sequence s : all) n += s.numOutputTokens();
        return n;
    }

    /** Whether prompt logprobs are asked for and some are still missing. */
    boolean wantsPromptLogprobs() {
        return promptLogprobs != null && promptLogprobs.size() < numPromptTokens - 1;
    }

    /** The prompt logprobs, for the request's first output only (null: not asked for, or sent). */
    List<PromptLogprob> takePromptLogprobs() {
        if (promptLogprobs == null || promptLogprobsSent) return null;
        promptLogprobsSent = true;
        return List.copyOf(promptLogprobs);
    }

    /** Marks the whole request done (its outputs are final); {@code reason} is what its metrics count. */
    void finish(FinishReason reason) {
        if (finished) return;
        finished = true;
        finishReason = reason;
    }

    /** Why the request ended, for its metrics (null until it has). */
    FinishReason finishReason() { return finishReason; }

    public boolean isFinished() { return finished; }
}
