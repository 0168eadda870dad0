package io.quire.engine;

import io.quire.kv.BlockOp;
import io.quire.kv.KvCacheManager;
import io.quire.kv.KvAllocationPolicy;
import io.quire.kv.PrefixHit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedList;
import java.util.List;

/**
 * Decides what runs each step, as vLLM v1's scheduler does: there are no separate prefill and
 * decode phases, every sequence simply has {@code numTokens - numComputedTokens} tokens to catch
 * up on. Running sequences go first (a decode token, or the next chunk of a long prompt), then
 * swapped-out groups coming back, then waiting ones in FIFO order, under {@code maxNumSeqs} and a
 * budget of {@code maxNumBatchedTokens} tokens; a prompt larger than what is left of the budget is
 * split into chunks (chunked prefill). A waiting sequence first takes the cached blocks of its
 * longest cached prefix (prefix caching) and starts after them.
 *
 * <p>When the KV cache has no block for a running sequence, the group of the most recently
 * admitted running sequence is preempted (vLLM V0): by swapping its blocks out to the host pool
 * (it comes back, before any new admission, when blocks free up) or by recompute (its blocks are
 * freed and it goes back to the front of the waiting queue). {@link PreemptionMode#AUTO} swaps
 * multi-sequence groups and recomputes single sequences; swapping falls back to recompute when the
 * swap pool is full. Only the engine thread calls it; it never runs the model itself.
 */
public final class Scheduler {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    private final int maxNumSeqs;
    private final int maxNumBatchedTokens;
    private final KvCacheManager kv;
    private final PreemptionMode preemptionMode;
    private final KvAllocationPolicy allocationPolicy;
    private final int maxModelLen;
    private final LinkedList<Request> waiting = new LinkedList<>();
    private final List<Request> running = new ArrayList<>(); // in admission order
    private final Deque<List<Request>> swapped = new ArrayDeque<>(); // groups, in preemption order
    private long numPreemptions;
    private long numSwapOuts;

    public Scheduler(int maxNumSeqs, int maxNumBatchedTokens, KvCacheManager kv) {
        this(maxNumSeqs, maxNumBatchedTokens, kv, PreemptionMode.AUTO);
    }

    public Scheduler(int maxNumSeqs, int maxNumBatchedTokens, KvCacheManager kv, PreemptionMode preemptionMode) {
        this(maxNumSeqs, maxNumBatchedTokens, kv, preemptionMode, KvAllocationPolicy.PAGED, Integer.MAX_VALUE);
    }

    public Scheduler(int maxNumSeqs, int maxNumBatchedTokens, KvCacheManager kv, KvAllocationPolicy allocationPolicy, int maxModelLen) {
        this(maxNumSeqs, maxNumBatchedTokens, kv, PreemptionMode.AUTO, allocationPolicy, maxModelLen);
    }

    /**
     * @param allocationPolicy how much KV a sequence gets at admission (see {@link KvAllocationPolicy})
     * @param maxModelLen      the engine's maximum model length, which ORCA_MAX reserves
     */
    public Scheduler(int maxNumSeqs, int maxNumBatchedTokens, KvCacheManager kv, PreemptionMode preemptionMode,
                     KvAllocationPolicy allocationPolicy, int maxModelLen) {
        if (maxNumSeqs <= 0 || maxNumBatchedTokens <= 0) throw new IllegalArgumentException("maxNumSeqs and maxNumBatchedTokens must be positive");
        if (allocationPolicy.reservesAhead() && maxModelLen == Integer.MAX_VALUE) throw new IllegalArgumentException(allocationPolicy + " needs a maximum model length");
        this.maxNumSeqs = maxNumSeqs;
        this.maxNumBatchedTokens = maxNumBatchedTokens;
        this.kv = kv;
        this.preemptionMode = preemptionMode;
        this.allocationPolicy = allocationPolicy;
        this.maxModelLen = maxModelLen;
    }

    public KvAllocationPolicy allocationPolicy() { return allocationPolicy; }

    public KvCacheManager kvCacheManager() { return kv; }

    public void addRequest(Request request) {
        if (request.state() != RequestState.WAITING) throw new IllegalStateException("not a new request: " + request);
        waiting.addLast(request);
    }

    public int numRunning() { return running.size(); }

    public int numWaiting() { return waiting.size(); }

    /** Sequences whose blocks are in the swap pool. */
    public int numSwapped() {
        int n = 0;
        for (List<Request> g : swapped) n += g.size();
        return n;
    }

    public boolean hasWork() { return !running.isEmpty() || !waiting.isEmpty() || !swapped.isEmpty(); }

    public long numPreemptions() { return numPreemptions; }

    /** Preemptions done by swapping out (the rest recomputed). */
    public long numSwapOuts() { return numSwapOuts; }

    /** Running sequences in admission order (a copy). */
    public List<Request> running() { return List.copyOf(running); }

    /** Waiting sequences in queue order (a copy). */
    public List<Request> waiting() { return List.copyOf(waiting); }

    /** Swapped-out sequences, group by group (a copy). */
    public List<Request> swapped() {
        List<Request> out = new ArrayList<>();
        for (List<Request> g : swapped) out.addAll(g);
        return out;
    }

    public SchedulerOutput schedule() {
        int budget = maxNumBatchedTokens;
        List<ScheduledRequest> scheduled = new ArrayList<>();
        List<Request> preempted = new ArrayList<>();
        long queries = 0, hits = 0;

        for (int i = 0; i < running.size() && budget > 0; ) {
            Request req = running.get(i);
            int numNew = Math.min(req.numUncomputedTokens(), budget);
            if (numNew <= 0) { i++; continue; }
            boolean selfPreempted = false;
            while (!kv.allocateSlots(req.requestId(), req.numComputedTokens(), numNew)) {
                // Out of blocks: the group of the latest admitted sequence makes room (it may be req's own).
                SequenceGroup victim = running.getLast().group();
                List<Request> members = new ArrayList<>();
                int current = i;
                for (int j = 0; j < running.size(); j++) {
                    Request m = running.get(j);
                    if (m.group() != victim) continue;
                    members.add(m);
                    if (j < current) {
                        // Already scheduled this step: take it back out.
                        i--;
                        for (int k = 0; k < scheduled.size(); k++) {
                            if (scheduled.get(k).request() == m) { budget += scheduled.remove(k).numNewTokens(); break; }
                        }
                    }
                }
                running.removeAll(members);
                preempt(members);
                preempted.addAll(members);
                if (members.contains(req)) { selfPreempted = true; break; }
            }
            if (selfPreempted) continue; // req is gone from running; index i holds the next one
            scheduled.add(new ScheduledRequest(req, req.numComputedTokens(), numNew));
            budget -= numNew;
            i++;
        }

        // Admitting new work while evicting running work would only thrash the cache.
        if (preempted.isEmpty()) {
            while (!swapped.isEmpty() && budget > 0) {
                List<Request> g = swapped.peekFirst();
                if (!running.isEmpty() && running.size() + g.size() > maxNumSeqs) break;
                List<String> ids = ids(g);
                int need = kv.numBlocksToSwapIn(ids);
                for (Request r : g) need += kv.blocksFor(r.numTokens()) - kv.blocksFor(r.numComputedTokens()) + 1; // growth, copy-on-write
                if (need > kv.numFreeBlocks() || !kv.swapIn(ids)) {
                    // With nothing running no block will ever be freed for it: recompute it instead of waiting forever.
                    if (running.isEmpty()) {
                        recomputeSwapped(swapped.pollFirst());
                        continue;
                    }
                    break;
                }
                swapped.pollFirst();
                for (Request r : g) {
                    r.setState(RequestState.RUNNING);
                    running.add(r);
                    int numNew = Math.min(r.numUncomputedTokens(), budget);
                    if (numNew <= 0) continue;
                    if (!kv.allocateSlots(r.requestId(), r.numComputedTokens(), numNew)) {
                        throw new IllegalStateException("no block for swapped-in " + r.requestId() + " although room was checked");
                    }
                    scheduled.add(new ScheduledRequest(r, r.numComputedTokens(), numNew));
                    budget -= numNew;
                }
            }
            while (swapped.isEmpty() && !waiting.isEmpty() && budget > 0 && running.size() < maxNumSeqs) {
                // A group is admitted whole (all its waiting sequences, or none), so its sequences always share one state.
                SequenceGroup g = waiting.peekFirst().group();
                List<Request> members = new ArrayList<>();
                for (Request r : waiting) if (r.group() == g) members.add(r);
                int seqs = g.forked ? members.size() : g.maxRunningSeqs();
                if (!running.isEmpty() && running.size() + seqs > maxNumSeqs) break;
                List<ScheduledRequest> admitted = new ArrayList<>();
                long groupQueries = 0, groupHits = 0;
                int groupBudget = budget;
                boolean fits = true;
                for (Request req : members) {
                    int left = Math.min(req.numTokens() - req.numComputedTokens(), groupBudget);
                    PrefixHit hit = left > 0 && kv.numBlocks(req.requestId()) == 0 && req.numComputedTokens() == 0
                            ? kv.findCachedPrefix(req::token, req.numTokens(), req.group().cacheSalt()) : PrefixHit.NONE;
                    int cached = hit.numBlocks() * kv.blockSize();
                    int numNew = Math.min(req.numTokens() - req.numComputedTokens() - cached, groupBudget);
                    if (!kv.allocateSlots(req.requestId(), req.numComputedTokens() + cached, admissionSlots(req, cached, numNew), hit)) {
                        fits = false;
                        break;
                    }
                    if (kv.prefixCachingEnabled() && numNew > 0) {
                        groupQueries += req.numTokens();
                        groupHits += cached;
                    }
                    admitted.add(new ScheduledRequest(req, req.numComputedTokens() + cached, numNew));
                    groupBudget -= numNew;
                }
                if (!fits) {
                    for (ScheduledRequest a : admitted) kv.free(a.request().requestId());
                    break;
                }
                queries += groupQueries;
                hits += groupHits;
                for (ScheduledRequest a : admitted) {
                    Request req = a.request();
                    if (a.start() > req.numComputedTokens()) req.setComputedFromCache(a.start());
                    waiting.remove(req);
                    req.setState(RequestState.RUNNING);
                    running.add(req);
                    if (a.numNewTokens() > 0) scheduled.add(a);
                }
                budget = groupBudget;
            }
        }
        return new SchedulerOutput(List.copyOf(scheduled), List.copyOf(preempted), maxNumBatchedTokens - budget,
                kv.takeBlockOps(), queries, hits);
    }

    /**
     * Slots a waiting sequence needs to be admitted: its first chunk, or under an up-front policy its
     * whole reservation, held until it finishes (so it never needs a block later and is never preempted).
     */
    private int admissionSlots(Request req, int cached, int numNew) {
        int reserved = allocationPolicy.reservedTokens(req.numPromptTokens(), req.maxTokens(), maxModelLen);
        return Math.max(numNew, reserved - req.numComputedTokens() - cached);
    }

    private static List<String> ids(List<Request> seqs) {
        List<String> ids = new ArrayList<>(seqs.size());
        for (Request r : seqs) ids.add(r.requestId());
        return ids;
    }

    /** Preempts one group's running sequences: swapped out if the mode says so and the pool has room, else recomputed. */
    private void preempt(List<Request> members) {
        SequenceGroup g = members.getFirst().group();
        boolean swap = switch (preemptionMode) {
            case RECOMPUTE -> false;
            case SWAP -> true;
            case AUTO -> g.maxRunningSeqs() > 1;
        };
        numPreemptions++;
        if (swap && kv.swapOut(ids(members))) {
            for (Request m : members) m.markSwapped();
            swapped.addLast(new ArrayList<>(members));
            numSwapOuts++;
            log.info("Preempted request {} by swapping out {} sequences ({} preemptions in total): KV cache full, {} running",
                    g.requestId(), members.size(), numPreemptions, running.size());
            return;
        }
        for (Request m : members.reversed()) {
            kv.free(m.requestId());
            m.resetForRecompute();
            waiting.addFirst(m);
        }
        log.info("Preempted request {} (recompute of {} sequences later{}; {} preemptions in total): KV cache full, {} running",
                g.requestId(), members.size(), swap ? ", the swap space being full" : "", numPreemptions, running.size());
    }

    /** Gives up a swapped-out group's host blocks and queues it, at the front, to be recomputed. */
    private void recomputeSwapped(List<Request> members) {
        for (Request m : members.reversed()) {
            kv.free(m.requestId());
            m.resetForRecompute();
            waiting.addFirst(m);
        }
        log.info("Request {} cannot be swapped back in ({} free blocks, nothing running): recomputing it instead",
                members.getFirst().group().requestId(), kv.numFreeBlocks());
    }

    /**
     * Adds {@code child}, just forked from {@code parent}, next to it: sharing all of the parent's
     * blocks (device or swap) when it has them, else waiting behind it to be recomputed.
     */
    void fork(Request parent, Request child) {
        switch (parent.state()) {
            case RUNNING -> {
                kv.fork(parent.requestId(), child.requestId());
                child.setState(RequestState.RUNNING);
                running.add(lastIndexOfGroup(parent.group()) + 1, child);
            }
            case WAITING -> {
                child.setState(RequestState.WAITING);
                waiting.add(waiting.indexOf(parent) + 1, child);
            }
            case SWAPPED -> {
                kv.fork(parent.requestId(), child.requestId());
                child.setState(RequestState.SWAPPED);
                for (List<Request> g : swapped) if (g.contains(parent)) { g.add(child); break; }
            }
            case FINISHED -> throw new IllegalStateException("cannot fork finished " + parent);
        }
    }

    private int lastIndexOfGroup(SequenceGroup g) {
        for (int j = running.size() - 1; j >= 0; j--) if (running.get(j).group() == g) return j;
        return running.size() - 1;
    }

    /** Records that the step ran: each scheduled sequence's new tokens now have their KV in the cache. */
    public void updateFromStep(SchedulerOutput output) {
        for (ScheduledRequest s : output.scheduled()) {
            Request r = s.request();
            if (r.isFinished()) continue;
            r.advanceComputed(s.numNewTokens());
            kv.cacheFullBlocks(r.requestId(), r::token, r.numComputedTokens(), r.group().cacheSalt());
        }
    }

    /** Takes a sequence out (finished, aborted, failed or a dropped beam) and frees its blocks at once. */
    public void finishRequest(Request request, FinishReason reason) {
        if (request.isFinished()) return;
        if (!running.remove(request) && !waiting.remove(request)) {
            for (var it = swapped.iterator(); it.hasNext(); ) {
                List<Request> g = it.next();
                if (g.remove(request)) {
                    if (g.isEmpty()) it.remove();
                    break;
                }
            }
        }
        kv.free(request.requestId());
        request.finish(reason);
        request.group().live.remove(request);
    }
}
