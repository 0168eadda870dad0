package io.quire.engine;

import io.quire.engine.structured.ConstraintState;

import java.util.Arrays;

/**
 * One sequence of tokens the engine generates (vLLM's {@code Sequence}): its prompt, the tokens
 * generated so far, how many of prompt+output already have their KV computed, and its state. A
 * {@link Request} creates and owns its sequences; a sequence knows only its request's id and its
 * output index, so the scheduler and the KV cache deal in sequences alone. Its id
 * ({@link #seqId}: the request id, or {@code requestId#k} for a fork) keys its block table. After
 * a preemption by recompute {@link #numComputedTokens} goes back to 0 and prompt plus outputs are
 * recomputed as one longer prompt. Owned by the engine thread.
 */
public final class Sequence {
    private static final int[] NO_DRAFT = new int[0];

    private final String seqId;
    private final String requestId;
    private final int index;
    private final int[] promptIds;
    private final SamplingParams params;
    private final int maxOutputTokens;
    private final SamplingState samplingState;
    /** Where the output stands in its constraint (null: unconstrained); advanced by every appended token. */
    private final ConstraintState constraint;
    /** The model's LoRA adapter it runs with (0: none): the request's. */
    private final int adapterSlot;

    private int[] tokens;       // prompt then outputs
    private int numTokens;
    private int numComputedTokens;
    private SequenceState state = SequenceState.WAITING;
    private FinishReason finishReason;
    private int numPreemptions;
    private double cumulativeLogprob;
    /** Tokens drafted to follow the last one, which the next step verifies (speculative decoding). */
    private int[] draft = NO_DRAFT;
    /** Drafts in a row of which the sampler kept nothing, and steps left before drafting again. */
    private int draftMisses;
    private int draftPause;

    /** A request's first sequence (see {@link Request}). */
    Sequence(String requestId, int[] promptIds, SamplingParams params, int maxOutputTokens, ConstraintState constraint,
             int adapterSlot) {
        if (promptIds.length == 0) throw new IllegalArgumentException("empty prompt");
        this.seqId = requestId;
        this.requestId = requestId;
        this.index = 0;
        this.promptIds = promptIds.clone();
        this.params = params;
        this.maxOutputTokens = maxOutputTokens;
        this.tokens = Arrays.copyOf(promptIds, promptIds.length + Math.min(maxOutputTokens, 256));
        this.numTokens = promptIds.length;
        this.samplingState = new SamplingState(params.seed(), promptIds);
        this.constraint = constraint;
        this.adapterSlot = adapterSlot;
    }

    /** A fork of {@code parent}: same tokens, computed count and cumulative logprob. */
    private Sequence(Sequence parent, String seqId, int index, SamplingState state) {
        this.seqId = seqId;
        this.requestId = parent.requestId;
        this.index = index;
        this.promptIds = parent.promptIds;
        this.params = parent.params;
        this.maxOutputTokens = parent.maxOutputTokens;
        this.tokens = parent.tokens.clone();
        this.numTokens = parent.numTokens;
        this.numComputedTokens = parent.numComputedTokens;
        this.samplingState = state;
        this.constraint = parent.constraint == null ? null : parent.constraint.copy();
        this.adapterSlot = parent.adapterSlot;
        this.cumulativeLogprob = parent.cumulativeLogprob;
        this.state = parent.state;
    }

    /** The model's LoRA adapter it runs with, 0 for none. */
    int adapterSlot() { return adapterSlot; }

    /** A copy of this sequence under a new id (it holds no blocks until the scheduler shares them). */
    Sequence fork(String childId, int childIndex, SamplingState state) {
        return new Sequence(this, childId, childIndex, state);
    }

    /** The sequence's id (its request's id for the first sequence): the key of its block table. */
    public String seqId() { return seqId; }

    /** The id of the client request this sequence belongs to. */
    public String requestId() { return requestId; }

    /** Which of the request's sequences this is (output index; parallel sampling). */
    public int index() { return index; }

    /** Sum of the raw logprobs of the sampled tokens (multi-sequence requests only). */
    public double cumulativeLogprob() { return cumulativeLogprob; }

    void addLogprob(double lp) { cumulativeLogprob += lp; }

    public SamplingParams params() { return params; }

    /**
     * The output limit, resolved once by {@link RequestValidator#validate}: the client's
     * {@code max_tokens}, or what the context leaves after the prompt when it asked for none.
     */
    public int maxOutputTokens() { return maxOutputTokens; }

    public SamplingState samplingState() { return samplingState; }

    /** The sequence's place in its output constraint, or null when the output is free. */
    public ConstraintState constraint() { return constraint; }

    public int numPromptTokens() { return promptIds.length; }

    public int[] promptIds() { return promptIds.clone(); }

    /** Prompt plus output tokens. */
    public int numTokens() { return numTokens; }

    public int numOutputTokens() { return numTokens - promptIds.length; }

    public int token(int position) {
        if (position >= numTokens) throw new IndexOutOfBoundsException(position);
        return tokens[position];
    }

    /** Position {@code position}'s token, a drafted one past the last ({@link #draft}). */
    int tokenOrDraft(int position) {
        return position < numTokens ? tokens[position] : draft[position - numTokens];
    }

    /** Prompt and output tokens, valid up to {@link #numTokens} (not a copy: the proposer only reads it). */
    int[] tokenArray() { return tokens; }

    /** Tokens drafted to follow the last one for the next step to verify (empty: none). */
    int[] draft() { return draft; }

    int numDraftTokens() { return draft.length; }

    void setDraft(int[] tokens) { draft = tokens.length == 0 ? NO_DRAFT : tokens; }

    /**
     * How many tokens the sequence may draft this step, of {@code k}: after a draft of which nothing was
     * kept it pauses 1, then 3, 7, 15 and at most 31 steps, and then drafts half as many, a quarter, ...
     * down to one, so text that never repeats its context (or a high temperature) costs a few drafted
     * tokens, not k every step. Any kept token ends the back-off.
     */
    int draftLength(int k) {
        if (draftPause == 0) return draftMisses == 0 ? k : Math.max(1, k >> draftMisses);
        draftPause--;
        return 0;
    }

    /** Records how many of the step's drafted tokens the sampler kept. */
    void draftKept(int n) {
        if (n > 0) {
            draftMisses = 0;
            return;
        }
        draftMisses = Math.min(draftMisses + 1, 5);
        draftPause = (1 << draftMisses) - 1;
    }

    /** Keeps the first {@code n} drafted tokens (what the step's token budget leaves room for). */
    void truncateDraft(int n) {
        if (n < draft.length) draft = n <= 0 ? NO_DRAFT : Arrays.copyOf(draft, n);
    }

    public int[] outputIds() { return Arrays.copyOfRange(tokens, promptIds.length, numTokens); }

    /** Tokens whose KV is in the cache. */
    public int numComputedTokens() { return numComputedTokens; }

    /** Tokens still to run through the model before the next sample. */
    public int numUncomputedTokens() { return numTokens - numComputedTokens; }

    public SequenceState state() { return state; }

    public FinishReason finishReason() { return finishReason; }

    public int numPreemptions() { return numPreemptions; }

    public boolean isFinished() { return state == SequenceState.FINISHED; }

    void appendOutput(int tokenId) {
        if (numTokens == tokens.length) tokens = Arrays.copyOf(tokens, tokens.length * 2);
        tokens[numTokens++] = tokenId;
        samplingState.addOutput(tokenId);
        if (constraint != null) constraint.advance(tokenId);
    }

    void advanceComputed(int n) {
        if (n < 0 || numComputedTokens + n > numTokens) {
            throw new IllegalStateException("sequence " + seqId + ": computed " + numComputedTokens + " + " + n
                    + " > " + numTokens);
        }
        numComputedTokens += n;
    }

    void setState(SequenceState state) { this.state = state; }

    /** A prefix-cache hit: the first {@code n} tokens' KV is already in the cache. */
    void setComputedFromCache(int n) {
        if (numComputedTokens != 0 || n < 0 || n >= numTokens) {
            throw new IllegalStateException("sequence " + seqId + ": cannot take " + n + " cached tokens");
        }
        numComputedTokens = n;
    }

    /** Preemption by swapping: the KV is kept in the swap pool. */
    void markSwapped() {
        draft = NO_DRAFT;
        numPreemptions++;
        state = SequenceState.SWAPPED;
    }

    void finish(FinishReason reason) {
        this.state = SequenceState.FINISHED;
        this.finishReason = reason;
        draft = NO_DRAFT;
    }

    /** Preemption by recompute: the KV is gone, so everything will run through the model again. */
    void resetForRecompute() {
        draft = NO_DRAFT;
        numComputedTokens = 0;
        numPreemptions++;
        state = SequenceState.WAITING;
    }

    @Override
    public String toString() {
        return "Sequence[" + seqId + ", " + state + ", tokens=" + numTokens + ", computed=" + numComputedTokens + "]";
    }
}
