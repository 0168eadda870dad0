package io.quire.engine;

import io.quire.kv.KvAllocationPolicy;
import io.quire.kv.KvCacheManager;
import io.quire.kv.PrefixHit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Decides what runs each step, as vLLM v1's scheduler does: there are no separate prefill and
 * decode phases, every sequence simply has {@code numTokens - numComputedTokens} tokens to catch
 * up on. Running sequences go first (a decode token, or the next chunk of a long prompt), then
 * swapped-out requests coming back, then waiting ones in FIFO order, under {@code maxNumSeqs} and
 * a budget of {@code maxNumBatchedTokens} tokens; a prompt larger than what is left of the budget
 * is split into chunks (chunked prefill). A waiting sequence first takes the cached blocks of its
 * longest cached prefix (prefix caching) and starts after them.
 *
 * <p>When the KV cache has no block for a running sequence, the request of the most recently
 * admitted running sequence is preempted (vLLM V0): by swapping its blocks out to the host pool
 * (it comes back, before any new admission, when blocks free up) or by recompute (its blocks are
 * freed and it goes back to the front of the waiting queue). {@link PreemptionMode#AUTO} swaps
 * multi-sequence requests and recomputes single sequences; swapping falls back to recompute when
 * the swap pool is full. The sequences of a forked request that is recomputed take their common
 * prefix from one of them again, as they shared it when they forked: each computing its own copy
 * could need more blocks than the whole cache, and then the request would be admitted by its first
 * chunk, preempt itself and come back forever. Under {@link SchedulingPolicy#PRIORITY} the waiting
 * and swapped queues are kept in priority order (then arrival) and the victim is the running request
 * last in that order, as in vLLM v1. Only the engine thread calls it; it never runs the model itself.
 */
public final class Scheduler {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    private final int maxNumSeqs;
    private final int maxNumBatchedTokens;
    private final KvCacheManager kv;
    private final PreemptionMode preemptionMode;
    private final KvAllocationPolicy allocationPolicy;
    private final int maxModelLen;
    private final SchedulingPolicy policy;
    /** Requests with a live sequence, by id, in admission order: a sequence knows only its request's id. */
    private final Map<String, Request> requests = new LinkedHashMap<>();
    private final LinkedList<Sequence> waiting = new LinkedList<>();
    private final List<Sequence> running = new ArrayList<>(); // in admission order
    // by request, in preemption order (priority order under PRIORITY)
    private final LinkedList<List<Sequence>> swapped = new LinkedList<>();
    private long numPreemptions;

    public Scheduler(int maxNumSeqs, int maxNumBatchedTokens, KvCacheManager kv) {
        this(maxNumSeqs, maxNumBatchedTokens, kv, PreemptionMode.AUTO, KvAllocationPolicy.PAGED, Integer.MAX_VALUE);
    }

    public Scheduler(int maxNumSeqs, int maxNumBatchedTokens, KvCacheManager kv, KvAllocationPolicy allocationPolicy,
                     int maxModelLen) {
        this(maxNumSeqs, maxNumBatchedTokens, kv, PreemptionMode.AUTO, allocationPolicy, maxModelLen);
    }

    /**
     * @param allocationPolicy how much KV a sequence gets at admission (see {@link KvAllocationPolicy})
     * @param maxModelLen      the engine's maximum model length, which ORCA_MAX reserves
     */
    public Scheduler(int maxNumSeqs, int maxNumBatchedTokens, KvCacheManager kv, PreemptionMode preemptionMode,
                     KvAllocationPolicy allocationPolicy, int maxModelLen) {
        this(maxNumSeqs, maxNumBatchedTokens, kv, preemptionMode, allocationPolicy, maxModelLen, SchedulingPolicy.FCFS);
    }

    /** @param policy the order requests are served in */
    public Scheduler(int maxNumSeqs, int maxNumBatchedTokens, KvCacheManager kv, PreemptionMode preemptionMode,
                     KvAllocationPolicy allocationPolicy, int maxModelLen, SchedulingPolicy policy) {
        if (maxNumSeqs <= 0 || maxNumBatchedTokens <= 0) {
            throw new IllegalArgumentException("maxNumSeqs and maxNumBatchedTokens must be positive");
        }
        if (allocationPolicy.reservesAhead() && maxModelLen == Integer.MAX_VALUE) {
            throw new IllegalArgumentException(allocationPolicy + " needs a maximum model length");
        }
        this.maxNumSeqs = maxNumSeqs;
        this.maxNumBatchedTokens = maxNumBatchedTokens;
        this.kv = kv;
        this.preemptionMode = preemptionMode;
        this.allocationPolicy = allocationPolicy;
        this.maxModelLen = maxModelLen;
        this.policy = policy;
    }

    /** Queues a new request's sequence(s) at the end of the waiting queue (under PRIORITY, at its place in it). */
    public void addRequest(Request request) {
        for (Sequence s : request.live) {
            if (s.state() != SequenceState.WAITING) throw new IllegalStateException("not a new sequence: " + s);
        }
        if (requests.putIfAbsent(request.requestId(), request) != null) {
            throw new IllegalStateException("request " + request.requestId() + " is already scheduled");
        }
        if (policy == SchedulingPolicy.PRIORITY) waiting.addAll(placeIn(waiting, s -> s, request), request.live);
        else waiting.addAll(request.live);
    }

    /**
     * Where a request goes in the waiting or swapped queue under PRIORITY: before the first entry
     * ({@code member} gives a sequence of it) whose request comes after it.
     */
    private <T> int placeIn(List<T> queue, Function<T, Sequence> member, Request request) {
        int i = 0;
        for (T entry : queue) {
            if (requestOf(member.apply(entry)).after(request)) return i;
            i++;
        }
        return i;
    }

    /** The request that makes room when the cache is full: the latest admitted, or under PRIORITY the last in order. */
    private String victim() {
        if (policy == SchedulingPolicy.FCFS) return running.getLast().requestId();
        Request last = requestOf(running.getFirst());
        for (Sequence s : running) {
            Request r = requestOf(s);
            if (!r.after(last)) continue;
            last = r;
        }
        return last.requestId();
    }

    /** The request a live sequence belongs to. */
    public Request requestOf(Sequence s) {
        Request r = requests.get(s.requestId());
        if (r == null) throw new IllegalStateException("no live request for " + s);
        return r;
    }

    /** Requests with a live sequence, in admission order (a copy). */
    public List<Request> requests() { return List.copyOf(requests.values()); }

    public int numRunning() { return running.size(); }

    /** Sequences waiting to run, a request not yet forked counted as the n or best_of sequences it will run. */
    public int numWaiting() { return width(waiting); }

    /** The LoRA adapters of the requests of the running sequences, or of the waiting and swapped ones, by name. */
    Set<String> adapters(boolean ofRunning) {
        Set<String> names = new TreeSet<>();
        if (ofRunning) {
            for (Sequence s : running) addAdapter(names, s);
        } else {
            for (Sequence s : waiting) addAdapter(names, s);
            for (List<Sequence> group : swapped) for (Sequence s : group) addAdapter(names, s);
        }
        return names;
    }

    private void addAdapter(Set<String> names, Sequence s) {
        Request r = requests.get(s.requestId());
        if (r != null && r.adapter() != null) names.add(r.adapter());
    }

    /** Sequences whose blocks are in the swap pool. */
    public int numSwapped() {
        int n = 0;
        for (List<Sequence> seqs : swapped) n += seqs.size();
        return n;
    }

    /**
     * The request served first, the one to fail when nothing can move: the latest running one, else
     * the first swapped-out or waiting one. Only when there is work.
     */
    public Request headOfLine() {
        Sequence s = !running.isEmpty() ? running.getLast() : !swapped.isEmpty() ? swapped.peekFirst().getFirst()
                : waiting.getFirst();
        return requestOf(s);
    }

    public boolean hasWork() { return !running.isEmpty() || !waiting.isEmpty() || !swapped.isEmpty(); }

    /** The order requests are served in. */
    public SchedulingPolicy policy() { return policy; }

    public long numPreemptions() { return numPreemptions; }

    /** Running sequences in admission order (a copy). */
    public List<Sequence> running() { return List.copyOf(running); }

    /** Running sequences in admission order, read-only, not a copy (each step's drafts). */
    List<Sequence> runningView() { return Collections.unmodifiableList(running); }

    /** Waiting sequences in queue order (a copy). */
    public List<Sequence> waiting() { return List.copyOf(waiting); }

    public SchedulerOutput schedule() {
        int budget = maxNumBatchedTokens;
        List<ScheduledSequence> scheduled = new ArrayList<>();
        List<Sequence> preempted = new ArrayList<>();
        long queries = 0, hits = 0;

        for (int i = 0; i < running.size() && budget > 0; ) {
            Sequence seq = running.get(i);
            // a decoding sequence's drafted tokens run after its last one (speculative decoding)
            int numNew = Math.min(seq.numUncomputedTokens() + seq.numDraftTokens(), budget);
            if (numNew <= 0) { i++; continue; }
            PrefixHit shared = siblingPrefix(seq, i);
            if (shared == null) { i++; continue; } // a sibling ahead of it is still computing their common prefix
            int start = seq.numComputedTokens() + shared.numBlocks() * kv.blockSize();
            if (!shared.isEmpty()) numNew = Math.min(seq.numTokens() - start, budget);
            seq.truncateDraft(start + numNew - seq.numTokens());
            boolean selfPreempted = false;
            while (!kv.allocateSlots(seq.seqId(), start, numNew, shared)) {
                if (seq.numDraftTokens() > 0) {
                    // Drafts never preempt anyone: the sequence runs without them.
                    numNew -= seq.numDraftTokens();
                    seq.truncateDraft(0);
                    continue;
                }
                // Out of blocks: the request of the latest admitted sequence makes room (it may be seq's own).
                String victim = victim();
                List<Sequence> members = new ArrayList<>();
                int current = i;
                for (int j = 0; j < running.size(); j++) {
                    Sequence m = running.get(j);
                    if (!m.requestId().equals(victim)) continue;
                    members.add(m);
                    if (j < current) {
                        // Already scheduled this step: take it back out.
                        i--;
                        for (int k = 0; k < scheduled.size(); k++) {
                            if (scheduled.get(k).sequence() == m) {
                                budget += scheduled.remove(k).numNewTokens();
                                break;
                            }
                        }
                    }
                }
                running.removeAll(members);
                preempt(members);
                preempted.addAll(members);
                if (members.contains(seq)) { selfPreempted = true; break; }
            }
            if (selfPreempted) continue; // seq is gone from running; index i holds the next one
            if (!shared.isEmpty()) seq.setComputedFromCache(start);
            scheduled.add(new ScheduledSequence(seq, seq.numComputedTokens(), numNew));
            budget -= numNew;
            i++;
        }

        // Admitting new work while evicting running work would only thrash the cache.
        if (preempted.isEmpty()) {
            int width = width(running);
            while (!swapped.isEmpty() && budget > 0) {
                List<Sequence> seqs = swapped.peekFirst();
                int groupWidth = width(seqs);
                if (!running.isEmpty() && width + groupWidth > maxNumSeqs) break;
                List<String> ids = ids(seqs);
                int need = kv.numBlocksToSwapIn(ids);
                // growth, and a copy-on-write
                for (Sequence s : seqs) need += kv.blocksFor(s.numTokens()) - kv.blocksFor(s.numComputedTokens()) + 1;
                if (need > kv.numFreeBlocks() || !kv.swapIn(ids)) {
                    // With nothing running no block will ever be freed for it: recompute it instead of waiting forever.
                    if (running.isEmpty()) {
                        recomputeSwapped(swapped.pollFirst());
                        continue;
                    }
                    break;
                }
                swapped.pollFirst();
                width += groupWidth;
                for (Sequence s : seqs) {
                    s.setState(SequenceState.RUNNING);
                    running.add(s);
                    int numNew = Math.min(s.numUncomputedTokens(), budget);
                    if (numNew <= 0) continue;
                    PrefixHit shared = siblingPrefix(s, running.size() - 1);
                    if (shared == null) continue;
                    int start = s.numComputedTokens() + shared.numBlocks() * kv.blockSize();
                    if (!shared.isEmpty()) numNew = Math.min(s.numTokens() - start, budget);
                    if (!kv.allocateSlots(s.seqId(), start, numNew, shared)) {
                        throw new IllegalStateException("no block for swapped-in " + s.seqId()
                                + " although room was checked");
                    }
                    if (!shared.isEmpty()) s.setComputedFromCache(start);
                    scheduled.add(new ScheduledSequence(s, s.numComputedTokens(), numNew));
                    budget -= numNew;
                }
            }
            while (swapped.isEmpty() && !waiting.isEmpty() && budget > 0 && width < maxNumSeqs) {
                // A request is admitted whole (all its waiting sequences, or none), so they always share one state.
                Request req = requestOf(waiting.peekFirst());
                List<Sequence> members = new ArrayList<>();
                for (Sequence s : waiting) if (s.requestId().equals(req.requestId())) members.add(s);
                int numSeqs = width(members);
                if (!running.isEmpty() && width + numSeqs > maxNumSeqs) break;
                List<ScheduledSequence> admitted = new ArrayList<>();
                long requestQueries = 0, requestHits = 0;
                int requestBudget = budget;
                boolean fits = true;
                for (int m = 0; m < members.size(); m++) {
                    Sequence seq = members.get(m);
                    if (!allocationPolicy.reservesAhead() && followsSibling(seq, members.subList(0, m))) {
                        // It takes their common prefix from that sibling once the sibling has computed it.
                        admitted.add(new ScheduledSequence(seq, 0, 0));
                        continue;
                    }
                    int left = Math.min(seq.numTokens() - seq.numComputedTokens(), requestBudget);
                    // A prompt whose logprobs are still wanted computes every position: no cached prefix (as vLLM).
                    PrefixHit hit = left > 0 && kv.numBlocks(seq.seqId()) == 0 && seq.numComputedTokens() == 0
                            && !req.wantsPromptLogprobs()
                            ? kv.findCachedPrefix(seq::token, seq.numTokens(), req.prefixCacheKey()) : PrefixHit.NONE;
                    int cached = hit.numBlocks() * kv.blockSize();
                    int numNew = Math.min(seq.numTokens() - seq.numComputedTokens() - cached, requestBudget);
                    int start = seq.numComputedTokens() + cached;
                    if (!kv.allocateSlots(seq.seqId(), start, admissionSlots(seq, cached, numNew), hit)) {
                        fits = false;
                        break;
                    }
                    if (kv.prefixCachingEnabled() && numNew > 0) {
                        requestQueries += seq.numTokens();
                        requestHits += cached;
                    }
                    admitted.add(new ScheduledSequence(seq, start, numNew));
                    requestBudget -= numNew;
                }
                if (!fits) {
                    for (ScheduledSequence a : admitted) kv.free(a.sequence().seqId());
                    break;
                }
                queries += requestQueries;
                hits += requestHits;
                for (ScheduledSequence a : admitted) {
                    Sequence seq = a.sequence();
                    if (a.start() > seq.numComputedTokens()) seq.setComputedFromCache(a.start());
                    waiting.remove(seq);
                    seq.setState(SequenceState.RUNNING);
                    running.add(seq);
                    if (a.numNewTokens() > 0) scheduled.add(a);
                }
                width += numSeqs;
                budget = requestBudget;
            }
        }
        return new SchedulerOutput(List.copyOf(scheduled), List.copyOf(preempted), maxNumBatchedTokens - budget,
                kv.takeBlockOps(), queries, hits);
    }

    /**
     * The sequences {@code seqs} stand for: one each, but the prompt of a request not yet forked stands
     * for all its request will run (n, best_of or the beam width). Running and waiting are counted so
     * against max_num_seqs, as vLLM counts a sequence group's most running sequences (counted as one,
     * 61 requests of n = 4 admitted under a limit of 64 grew to 244 sequences once they forked).
     */
    private int width(Collection<Sequence> seqs) {
        int width = 0;
        for (Sequence s : seqs) {
            Request r = requests.get(s.requestId());
            width += r != null && !r.forked ? r.maxRunningSeqs() : 1;
        }
        return width;
    }

    /**
     * Slots a waiting sequence needs to be admitted: its first chunk, or under an up-front policy its
     * whole reservation, held until it finishes (so it never needs a block later and is never preempted).
     */
    private int admissionSlots(Sequence seq, int cached, int numNew) {
        int reserved = allocationPolicy.reservedTokens(seq.numPromptTokens(), seq.maxOutputTokens(), maxModelLen);
        return Math.max(numNew, reserved - seq.numComputedTokens() - cached);
    }

    /**
     * Whether {@code seq}, holding nothing, has whole blocks' worth of tokens in common with one of
     * {@code siblings} (which come before it in its request): a forked request's sequences after a
     * recompute. Computing each one's copy of their prompt could need more blocks than the whole
     * cache (validation counts the prompt once), so such a sequence waits to share the sibling's.
     */
    private boolean followsSibling(Sequence seq, List<Sequence> siblings) {
        if (seq.numComputedTokens() != 0 || kv.numBlocks(seq.seqId()) != 0) return false;
        for (Sequence sib : siblings) if (commonBlockTokens(seq, sib) > 0) return true;
        return false;
    }

    /**
     * For a running sequence about to compute: the blocks it takes from a sibling ahead of it in
     * {@code running} (before index {@code before}), or null when it must wait for one. A sequence
     * of a forked request that holds nothing (recomputed, or never computed before it was swapped
     * out) shares the whole blocks of its longest common prefix with the running sibling ahead of it
     * that has the most in common, waiting until that sibling has computed them; so recomputed
     * sequences hold their prompt once, as when they forked. {@link PrefixHit#NONE} for the others.
     */
    private PrefixHit siblingPrefix(Sequence seq, int before) {
        if (seq.numComputedTokens() != 0 || kv.numBlocks(seq.seqId()) != 0) return PrefixHit.NONE;
        Sequence donor = null;
        int common = 0;
        for (int j = 0; j < before; j++) {
            Sequence sib = running.get(j);
            if (!sib.requestId().equals(seq.requestId())) continue;
            int n = commonBlockTokens(seq, sib);
            if (n > common) {
                donor = sib;
                common = n;
            }
        }
        if (donor == null) return PrefixHit.NONE;
        if (donor.numComputedTokens() < common) return null;
        return kv.sharedPrefix(donor.seqId(), common / kv.blockSize());
    }

    /**
     * Tokens at the start of {@code seq} that {@code other} has too, in whole blocks, short of seq's
     * last token (which it computes itself, for its logits).
     */
    private int commonBlockTokens(Sequence seq, Sequence other) {
        int limit = Math.min(seq.numTokens() - 1, other.numTokens());
        int n = 0;
        while (n < limit && seq.token(n) == other.token(n)) n++;
        return n / kv.blockSize() * kv.blockSize();
    }

    private static List<String> ids(List<Sequence> seqs) {
        List<String> ids = new ArrayList<>(seqs.size());
        for (Sequence s : seqs) ids.add(s.seqId());
        return ids;
    }

    /**
     * Preempts one request's running sequences: swapped out if the mode says so and the pool has
     * room, else recomputed.
     */
    private void preempt(List<Sequence> members) {
        Request req = requestOf(members.getFirst());
        boolean swap = switch (preemptionMode) {
            case RECOMPUTE -> false;
            case SWAP -> true;
            case AUTO -> req.maxRunningSeqs() > 1;
        };
        numPreemptions++;
        if (swap && kv.swapOut(ids(members))) {
            for (Sequence m : members) m.markSwapped();
            List<Sequence> group = new ArrayList<>(members);
            if (policy == SchedulingPolicy.PRIORITY) swapped.add(placeIn(swapped, List::getFirst, req), group);
            else swapped.addLast(group);
            log.info("Preempted request {} by swapping out {} sequences ({} preemptions in total): "
                    + "KV cache full, {} running", req.requestId(), members.size(), numPreemptions, running.size());
            return;
        }
        recompute(req, members);
        log.info("Preempted request {} (recompute of {} sequences later{}; {} preemptions in total): "
                + "KV cache full, {} running", req.requestId(), members.size(),
                swap ? ", the swap space being full" : "", numPreemptions, running.size());
    }

    /** Gives up a swapped-out request's host blocks and queues it, at the front, to be recomputed. */
    private void recomputeSwapped(List<Sequence> members) {
        recompute(requestOf(members.getFirst()), members);
        log.info("Request {} cannot be swapped back in ({} free blocks, nothing running): recomputing it instead",
                members.getFirst().requestId(), kv.numFreeBlocks());
    }

    /**
     * Frees the sequences' blocks and queues them, at the front, to be recomputed. A beam's logits
     * kept for its request's next beam step go too: the step waits for every beam to compute its own
     * again, so no beam forks while a sibling is still recomputing (holding no blocks to share).
     */
    private void recompute(Request req, List<Sequence> members) {
        for (Sequence m : members.reversed()) {
            kv.free(m.seqId());
            m.resetForRecompute();
            req.pending.remove(m);
        }
        if (policy == SchedulingPolicy.PRIORITY) waiting.addAll(placeIn(waiting, s -> s, req), members);
        else waiting.addAll(0, members);
    }

    /**
     * Adds {@code child}, just forked from {@code parent} (by {@link Request#fork}), next to it:
     * sharing all of the parent's blocks (device or swap) when it has them, else waiting behind it
     * to be recomputed.
     */
    void fork(Sequence parent, Sequence child) {
        switch (parent.state()) {
            case RUNNING -> {
                kv.fork(parent.seqId(), child.seqId());
                child.setState(SequenceState.RUNNING);
                running.add(lastRunningIndexOf(parent.requestId()) + 1, child);
            }
            case WAITING -> {
                child.setState(SequenceState.WAITING);
                waiting.add(waiting.indexOf(parent) + 1, child);
            }
            case SWAPPED -> {
                kv.fork(parent.seqId(), child.seqId());
                child.setState(SequenceState.SWAPPED);
                for (List<Sequence> seqs : swapped) {
                    if (seqs.contains(parent)) {
                        seqs.add(child);
                        break;
                    }
                }
            }
            case FINISHED -> throw new IllegalStateException("cannot fork finished " + parent);
        }
    }

    private int lastRunningIndexOf(String requestId) {
        for (int j = running.size() - 1; j >= 0; j--) if (running.get(j).requestId().equals(requestId)) return j;
        return running.size() - 1;
    }

    /** Records that the step ran: each scheduled sequence's new tokens now have their KV in the cache. */
    public void updateFromStep(SchedulerOutput output) {
        for (ScheduledSequence s : output.scheduled()) {
            Sequence seq = s.sequence();
            if (seq.isFinished()) continue;
            // Drafted tokens count once the sampler has accepted them (TokenProcessor).
            seq.advanceComputed(Math.min(s.numNewTokens(), seq.numTokens() - s.start()));
            cacheFullBlocks(seq);
        }
    }

    /** Offers the sequence's full computed blocks to the prefix cache (after a step, or accepted drafts). */
    void cacheFullBlocks(Sequence seq) {
        kv.cacheFullBlocks(seq.seqId(), seq::token, seq.numComputedTokens(), requestOf(seq).prefixCacheKey());
    }

    /**
     * Takes a sequence out (finished, aborted, failed or a dropped beam) and frees its blocks at
     * once; the request is forgotten with its last live sequence.
     */
    public void finishSequence(Sequence seq, FinishReason reason) {
        if (seq.isFinished()) return;
        if (!running.remove(seq) && !waiting.remove(seq)) {
            for (var it = swapped.iterator(); it.hasNext(); ) {
                List<Sequence> seqs = it.next();
                if (seqs.remove(seq)) {
                    if (seqs.isEmpty()) it.remove();
                    break;
                }
            }
        }
        kv.free(seq.seqId());
        seq.finish(reason);
        Request request = requests.get(seq.requestId());
        if (request == null) return;
        request.live.remove(seq);
        if (request.live.isEmpty()) requests.remove(seq.requestId());
    }
}
