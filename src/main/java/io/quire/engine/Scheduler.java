package io.quire.engine;

import io.quire.kv.KVCacheManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Decides what runs each step, as vLLM v1's scheduler does: there are no separate prefill and
 * decode phases, every request simply has {@code numTokens - numComputedTokens} tokens to catch
 * up on. Running requests go first (a decode token, or the next chunk of a long prompt), then
 * waiting ones in FIFO order, under {@code maxNumSeqs} and a budget of {@code maxNumBatchedTokens}
 * tokens; a prompt larger than what is left of the budget is split into chunks (chunked prefill).
 * When the KV cache has no block for a running request, the most recently admitted running
 * request is preempted: its blocks are freed and it goes back to the front of the waiting queue to
 * be recomputed later. Only the engine thread calls it; it never runs the model itself.
 */
public final class Scheduler {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    private final int maxNumSeqs;
    private final int maxNumBatchedTokens;
    private final KVCacheManager kv;
    private final Deque<Request> waiting = new ArrayDeque<>();
    private final List<Request> running = new ArrayList<>(); // in admission order
    private long numPreemptions;

    public Scheduler(int maxNumSeqs, int maxNumBatchedTokens, KVCacheManager kv) {
        if (maxNumSeqs <= 0 || maxNumBatchedTokens <= 0) throw new IllegalArgumentException("maxNumSeqs and maxNumBatchedTokens must be positive");
        this.maxNumSeqs = maxNumSeqs;
        this.maxNumBatchedTokens = maxNumBatchedTokens;
        this.kv = kv;
    }

    public KVCacheManager kvCacheManager() { return kv; }

    public void addRequest(Request request) {
        if (request.state() != RequestState.WAITING) throw new IllegalStateException("not a new request: " + request);
        waiting.addLast(request);
    }

    public int numRunning() { return running.size(); }

    public int numWaiting() { return waiting.size(); }

    public boolean hasWork() { return !running.isEmpty() || !waiting.isEmpty(); }

    public long numPreemptions() { return numPreemptions; }

    /** Running requests in admission order (a copy). */
    public List<Request> running() { return List.copyOf(running); }

    /** Waiting requests in queue order (a copy). */
    public List<Request> waiting() { return List.copyOf(waiting); }

    public SchedulerOutput schedule() {
        int budget = maxNumBatchedTokens;
        List<ScheduledRequest> scheduled = new ArrayList<>();
        List<Request> preempted = new ArrayList<>();

        for (int i = 0; i < running.size() && budget > 0; ) {
            Request req = running.get(i);
            int numNew = Math.min(req.numUncomputedTokens(), budget);
            if (numNew <= 0) { i++; continue; }
            boolean selfPreempted = false;
            while (!kv.allocateSlots(req.requestId(), req.numComputedTokens(), numNew)) {
                // Out of blocks: the latest admitted request makes room (it is after req in the list, or req itself).
                Request victim = running.removeLast();
                preempt(victim);
                preempted.add(victim);
                if (victim == req) { selfPreempted = true; break; }
            }
            if (selfPreempted) break;
            scheduled.add(new ScheduledRequest(req, req.numComputedTokens(), numNew));
            budget -= numNew;
            i++;
        }

        // Admitting new work while evicting running work would only thrash the cache.
        if (preempted.isEmpty()) {
            while (!waiting.isEmpty() && budget > 0 && running.size() < maxNumSeqs) {
                Request req = waiting.peekFirst();
                int numNew = Math.min(req.numUncomputedTokens(), budget);
                if (!kv.allocateSlots(req.requestId(), req.numComputedTokens(), numNew)) break;
                waiting.pollFirst();
                req.setState(RequestState.RUNNING);
                running.add(req);
                scheduled.add(new ScheduledRequest(req, req.numComputedTokens(), numNew));
                budget -= numNew;
            }
        }
        return new SchedulerOutput(List.copyOf(scheduled), List.copyOf(preempted), maxNumBatchedTokens - budget);
    }

    private void preempt(Request victim) {
        kv.free(victim.requestId());
        victim.resetForRecompute();
        waiting.addFirst(victim);
        numPreemptions++;
        log.info("Preempted request {} (recompute of {} tokens later; {} preemptions in total): KV cache full, {} running",
                victim.requestId(), victim.numTokens(), numPreemptions, running.size());
    }

    /** Records that the step ran: each scheduled request's new tokens now have their KV in the cache. */
    public void updateFromStep(SchedulerOutput output) {
        for (ScheduledRequest s : output.scheduled()) {
            if (s.request().isFinished()) continue;
            s.request().advanceComputed(s.numNewTokens());
        }
    }

    /** Takes a request out (finished, aborted or failed) and frees its blocks at once. */
    public void finishRequest(Request request, FinishReason reason) {
        if (request.isFinished()) return;
        if (!running.remove(request)) waiting.remove(request);
        kv.free(request.requestId());
        request.finish(reason);
    }
}
