package io.quire.engine;

import java.util.Arrays;

/**
 * One sequence inside the engine (vLLM v1's {@code Request}): its prompt, the tokens generated so
 * far, how many of prompt+output already have their KV computed, and its state. A client request
 * with several sequences ({@code n}/{@code best_of} > 1, beam search) is a {@link SequenceGroup} of
 * them, each with its own id ({@code requestId#k}) for its block table, as vLLM v1 makes child
 * requests. After a preemption by recompute {@link #numComputedTokens} goes back to 0 and prompt
 * plus outputs are recomputed as one longer prompt. Owned by the engine thread.
 */
public final class Request {
    private final String requestId;
    private final int[] promptIds;
    private final SamplingParams params;
    private final int maxTokens;
    private final long arrivalNanos;
    private final SamplingState samplingState;
    private final SequenceGroup group;

    private int[] tokens;       // prompt then outputs
    private int numTokens;
    private int numComputedTokens;
    private RequestState state = RequestState.WAITING;
    private FinishReason finishReason;
    private int numPreemptions;
    private double cumulativeLogprob;
    private int index;

    /**
     * The first (or only) sequence of a new request, in a new group.
     *
     * @param maxTokens the resolved output limit (max_tokens, or what the context leaves)
     */
    public Request(String requestId, int[] promptIds, SamplingParams params, int maxTokens, long arrivalNanos) {
        this(requestId, promptIds, params, maxTokens, arrivalNanos, null);
    }

    /** A request whose prefix-cache hashes are salted with {@code cacheSalt} (vLLM's {@code cache_salt}). */
    public Request(String requestId, int[] promptIds, SamplingParams params, int maxTokens, long arrivalNanos, String cacheSalt) {
        if (promptIds.length == 0) throw new IllegalArgumentException("empty prompt");
        this.requestId = requestId;
        this.promptIds = promptIds.clone();
        this.params = params;
        this.maxTokens = maxTokens;
        this.arrivalNanos = arrivalNanos;
        this.tokens = Arrays.copyOf(promptIds, promptIds.length + Math.min(maxTokens, 256));
        this.numTokens = promptIds.length;
        this.samplingState = new SamplingState(params.seed(), promptIds);
        this.group = new SequenceGroup(requestId, params, cacheSalt);
        group.live.add(this);
        group.all.add(this);
    }

    /** A fork of {@code parent}: same tokens, computed count and cumulative logprob, in the same group. */
    private Request(Request parent, String seqId, int index, SamplingState state) {
        this.requestId = seqId;
        this.promptIds = parent.promptIds;
        this.params = parent.params;
        this.maxTokens = parent.maxTokens;
        this.arrivalNanos = parent.arrivalNanos;
        this.tokens = parent.tokens.clone();
        this.numTokens = parent.numTokens;
        this.numComputedTokens = parent.numComputedTokens;
        this.samplingState = state;
        this.group = parent.group;
        this.cumulativeLogprob = parent.cumulativeLogprob;
        this.index = index;
        this.state = parent.state;
        group.live.add(this);
        group.all.add(this);
    }

    /** Forks this sequence into a new one of its group (it holds no blocks until the scheduler shares them). */
    Request fork(int index, SamplingState state) {
        return new Request(this, group.nextSequenceId(), index, state);
    }

    /** The sequence's id (the request id for a group's first sequence): the key of its block table. */
    public String requestId() { return requestId; }

    public SequenceGroup group() { return group; }

    /** Which of the request's sequences this is (output index; parallel sampling). */
    public int index() { return index; }

    /** Sum of the raw logprobs of the sampled tokens (multi-sequence groups only). */
    public double cumulativeLogprob() { return cumulativeLogprob; }

    void addLogprob(double lp) { cumulativeLogprob += lp; }

    public SamplingParams params() { return params; }

    public int maxTokens() { return maxTokens; }

    public long arrivalNanos() { return arrivalNanos; }

    public SamplingState samplingState() { return samplingState; }

    public int numPromptTokens() { return promptIds.length; }

    public int[] promptIds() { return promptIds.clone(); }

    /** Prompt plus output tokens. */
    public int numTokens() { return numTokens; }

    public int numOutputTokens() { return numTokens - promptIds.length; }

    public int token(int position) {
        if (position >= numTokens) throw new IndexOutOfBoundsException(position);
        return tokens[position];
    }

    public int[] outputIds() { return Arrays.copyOfRange(tokens, promptIds.length, numTokens); }

    public int lastToken() { return tokens[numTokens - 1]; }

    /** Tokens whose KV is in the cache. */
    public int numComputedTokens() { return numComputedTokens; }

    /** Tokens still to run through the model before the next sample. */
    public int numUncomputedTokens() { return numTokens - numComputedTokens; }

    public RequestState state() { return state; }

    public FinishReason finishReason() { return finishReason; }

    public int numPreemptions() { return numPreemptions; }

    public boolean isFinished() { return state == RequestState.FINISHED; }

    void appendOutput(int tokenId) {
        if (numTokens == tokens.length) tokens = Arrays.copyOf(tokens, tokens.length * 2);
        tokens[numTokens++] = tokenId;
        samplingState.addOutput(tokenId);
    }

    void advanceComputed(int n) {
        if (n < 0 || numComputedTokens + n > numTokens) {
            throw new IllegalStateException("request " + requestId + ": computed " + numComputedTokens + " + " + n + " > " + numTokens);
        }
        numComputedTokens += n;
    }

    void setState(RequestState state) { this.state = state; }

    /** A prefix-cache hit: the first {@code n} tokens' KV is already in the cache. */
    void setComputedFromCache(int n) {
        if (numComputedTokens != 0 || n < 0 || n >= numTokens) throw new IllegalStateException("request " + requestId + ": cannot take " + n + " cached tokens");
        numComputedTokens = n;
    }

    /** Preemption by swapping: the KV is kept in the swap pool. */
    void markSwapped() {
        numPreemptions++;
        state = RequestState.SWAPPED;
    }

    void finish(FinishReason reason) {
        this.state = RequestState.FINISHED;
        this.finishReason = reason;
    }

    /** Preemption by recompute: the KV is gone, so everything will run through the model again. */
    void resetForRecompute() {
        numComputedTokens = 0;
        numPreemptions++;
        state = RequestState.WAITING;
    }

    @Override
    public String toString() {
        return "Request[" + requestId + ", " + state + ", tokens=" + numTokens + ", computed=" + numComputedTokens + "]";
    }
}
