package io.quire.engine;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The sequences generated for one client request, which share its prompt's KV blocks (vLLM V0's
 * {@code SequenceGroup}; in vLLM v1 terms a parent request with child requests). A plain request
 * is a group of one. With {@code n}/{@code best_of} > 1 the prompt runs once as one sequence; at
 * its first token it forks into {@code best_of} sequences that share every block (copy-on-write).
 * With beam search the live beams are the group's sequences; each step they fork and are dropped.
 * Owned by the engine thread.
 */
public final class SequenceGroup {
    /** How the group's sequences come about. */
    public enum Kind { SINGLE, PARALLEL, BEAM }

    /** A beam's candidate continuation: a token and its logprob. */
    record Candidate(int tokenId, double logprob) {}

    /** A finished beam (or, for parallel sampling, a finished sequence) as returned to the client. */
    record Result(int[] outputIds, double cumulativeLogprob, double score, FinishReason reason, Request sequence) {}

    private final String requestId;
    private final SamplingParams params;
    private final Kind kind;
    private final int width;
    /** Live sequences (running, waiting or swapped), in creation order. */
    final List<Request> live = new ArrayList<>();
    /** Every sequence ever created, for parallel sampling's output index. */
    final List<Request> all = new ArrayList<>();
    /** Beam search: the candidates of each live beam whose logits are computed this beam step. */
    final Map<Request, List<Candidate>> pending = new IdentityHashMap<>();
    /** Beam search: beams that ended (EOS, or length). */
    final List<Result> completed = new ArrayList<>();
    boolean forked;
    boolean finished;
    /** Output tokens of the returned sequences once chosen (held outputs), else -1. */
    int returned = -1;
    private int nextSeqNumber = 1;

    private final String cacheSalt;

    long firstScheduledNanos = -1;
    /** Places this group holds in the engine's waiting queue until it is first scheduled (engine bookkeeping). */
    int waitingSlots;
    long firstTokenNanos = -1;
    long lastTokenNanos = -1;

    SequenceGroup(String requestId, SamplingParams params, String cacheSalt) {
        this.requestId = requestId;
        this.cacheSalt = cacheSalt;
        this.params = params;
        this.kind = params.useBeamSearch() ? Kind.BEAM : params.width() > 1 ? Kind.PARALLEL : Kind.SINGLE;
        this.width = params.width();
    }

    /** The client's request id. */
    public String requestId() { return requestId; }

    /** Mixed into every prefix-cache block hash: requests with different salts never share cached blocks (null: none). */
    public String cacheSalt() { return cacheSalt; }

    public SamplingParams params() { return params; }

    public Kind kind() { return kind; }

    /** Sequences generated: best_of (or n); the beam width for beam search. */
    public int width() { return width; }

    /** Sequences returned to the client. */
    public int n() { return params.n(); }

    /** Whether outputs wait for the end (best_of > n or beam search) instead of streaming. */
    public boolean holdsOutputs() { return kind == Kind.BEAM || width > params.n(); }

    /** Live sequences (a copy). */
    public List<Request> sequences() { return List.copyOf(live); }

    /** Sequences the group may run at once: what preemption must make room for (vLLM's get_max_num_running_seqs). */
    public int maxRunningSeqs() {
        if (kind == Kind.SINGLE) return 1;
        return forked ? live.size() : width;
    }

    /** A fresh id for a forked sequence: the request id, '#', a counter. */
    String nextSequenceId() { return requestId + "#" + nextSeqNumber++; }

    public boolean isFinished() { return finished; }
}
