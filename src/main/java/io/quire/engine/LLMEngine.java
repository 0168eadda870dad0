package io.quire.engine;

import io.micrometer.core.instrument.MeterRegistry;
import io.quire.kv.KvCacheManager;
import io.quire.kv.KvMemoryReport;
import io.quire.model.LanguageModel;
import io.quire.model.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The continuous-batching engine (vLLM v1's {@code EngineCore} in one process). Requests enter a
 * thread-safe queue; one loop on its own thread runs steps back to back while there is work and
 * parks when there is none (a new request or an abort wakes it). A step: schedule, build the flat
 * batch, run the model, sample, detokenize and check stops, free finished requests' blocks, then
 * push each request's output to its own sink. A failing step fails only the requests in it.
 *
 * <p>A request with several sequences ({@code n}/{@code best_of} > 1, beam search) is a
 * {@link Request}: its prompt runs once, then it forks into sequences that share the
 * prompt's blocks (copy-on-write). Parallel samples stream with their {@code index} when
 * {@code best_of == n}; with {@code best_of > n} (the {@code n} with the highest cumulative logprob
 * are returned) and with beam search, the outputs come at the end, as in vLLM.
 *
 * <p>Outputs are emitted on the engine thread: subscribers must not block in {@code onNext}
 * (hand off with {@code publishOn} if they do real work).
 */
public final class LLMEngine implements GenerationService, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LLMEngine.class);

    private final LanguageModel model;
    private final Tokenizer tokenizer;
    private final EngineConfig config;
    private final int maxModelLen;
    private final int vocabSize;
    private final ModelRunner runner;
    private final KvCacheManager kv;
    private final Scheduler scheduler;
    private final EngineMetrics metrics;
    private final OutputProcessor outputs;
    private final TokenProcessor tokens;

    private final ConcurrentLinkedQueue<Request> incoming = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Request> aborts = new ConcurrentLinkedQueue<>();
    private final Map<String, Request> active = new ConcurrentHashMap<>();
    private final Map<Request, Sinks.Many<RequestOutput>> sinks = new ConcurrentHashMap<>();
    private final reactor.core.scheduler.Scheduler loopThread = Schedulers.newSingle("quire-engine", true); // daemon: never keeps the JVM alive
    private final AtomicBoolean loopQueued = new AtomicBoolean();
    /** Sequences submitted and not yet scheduled, against {@link EngineConfig#maxWaitingRequests()}. */
    private final AtomicInteger waitingSequences = new AtomicInteger();
    private volatile boolean shutdown;
    private volatile boolean draining;
    private volatile EngineStats stats;
    private final KvReporter kvReports;
    /** The loop's thread, once it ran: reports asked for on it are built at once. */
    private volatile Thread engineThread;
    private long numSteps;

    public LLMEngine(LanguageModel model, EngineConfig config, MeterRegistry registry) {
        this.model = model;
        this.tokenizer = model.tokenizer();
        this.config = config;
        this.maxModelLen = config.resolveMaxModelLen(model.config());
        this.vocabSize = model.config().vocabSize();
        this.runner = new ModelRunner(model, config, maxModelLen);
        int numBlocks = runner.numBlocks(), numSwapBlocks = runner.numSwapBlocks();
        this.kv = new KvCacheManager(numBlocks, config.blockSize(), config.enablePrefixCaching(), numSwapBlocks);
        this.scheduler = new Scheduler(config.maxNumSeqs(), config.maxNumBatchedTokens(), kv, config.preemptionMode(),
                config.kvAllocationPolicy(), maxModelLen);
        StopChecker stops = new StopChecker(Set.copyOf(tokenizer.endOfGenerationIds()), maxModelLen);
        this.outputs = new OutputProcessor(tokenizer, stops);
        this.kvReports = new KvReporter(kv, scheduler, runner.kvBytesPerBlock());
        publishStats();
        kvReports.current(0);
        this.metrics = new EngineMetrics(registry, model.name(), () -> stats);
        this.tokens = new TokenProcessor(stops, outputs, scheduler, metrics);
        KvMetrics.register(registry, model.name(), this::kvReport);
        log.info("Engine for {}: {} KV blocks of {} tokens ({} MiB), {} swap blocks, prefix caching {}, preemption {}, max model len {}, max {} seqs / {} tokens per step",
                model.name(), numBlocks, config.blockSize(), numBlocks * runner.kvBytesPerBlock() >> 20,
                numSwapBlocks, config.enablePrefixCaching() ? "on" : "off", config.preemptionMode(),
                maxModelLen, config.maxNumSeqs(), config.maxNumBatchedTokens());
    }

    @Override
    public Tokenizer tokenizer() { return tokenizer; }

    @Override
    public String modelName() { return model.name(); }

    @Override
    public int maxModelLen() { return maxModelLen; }

    public EngineConfig config() { return config; }

    /** The scheduler (engine thread only: for tests and measurements run from {@link #afterStep}). */
    Scheduler scheduler() { return scheduler; }

    /** The latest snapshot (taken after each step, and before any output of that step is emitted). */
    public EngineStats stats() { return stats; }

    /**
     * The KV memory report, built on the engine thread at its next step boundary (see
     * {@link KvReporter}): at once when nothing changed since the last one, or on the engine
     * thread itself; otherwise it waits for the step in flight to end.
     */
    public KvMemoryReport kvReport() {
        if (Thread.currentThread() == engineThread) return kvReports.current(numSteps);
        return kvReports.await(this::wake, shutdown);
    }

    /**
     * Calls {@code listener} on the engine thread with the report taken after each step, before
     * the step's outputs are emitted (for benchmarks that average over steps). It must not block.
     */
    public void addKvReportListener(Consumer<KvMemoryReport> listener) { kvReports.addListener(listener); }

    public int numFreeBlocks() { return stats.numFreeBlocks(); }

    /** Requests submitted and not finished yet (thread-safe). */
    public int numActiveRequests() { return active.size(); }

    public int numTotalBlocks() { return stats.numTotalBlocks(); }

    /** The KV block manager: block tables, reference counts, prefix cache, swap pool (engine thread only; for tests and reports). */
    public KvCacheManager kvCacheManager() { return kv; }

    @Override
    public List<Flux<RequestOutput>> generate(List<String> requestIds, List<int[]> prompts, SamplingParams params,
                                              String cacheSalt) {
        if (shutdown || draining) throw new EngineStoppedException();
        if (requestIds.size() != prompts.size()) throw new IllegalArgumentException("one request id per prompt");
        List<Request> requests = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            String id = requestIds.get(i);
            if (id == null || id.isEmpty()) throw new InvalidRequestException(null, "A request id is required.");
            int maxTokens = RequestValidator.validate(prompts.get(i), params, vocabSize, maxModelLen);
            validateGroup(prompts.get(i).length, maxTokens, params);
            requests.add(new Request(id, prompts.get(i), params, maxTokens, System.nanoTime(), cacheSalt));
        }
        reserveWaiting(requests.size() * params.width());
        List<Flux<RequestOutput>> outputs = new ArrayList<>(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            Request request = requests.get(i);
            if (active.putIfAbsent(request.requestId(), request) != null) {
                // Withdraw what this submission queued already: all or none.
                for (Request queued : requests.subList(0, i)) abort(queued);
                waitingSequences.addAndGet(-(requests.size() - i) * params.width());
                throw new InvalidRequestException(null, "Request id " + request.requestId() + " is already in use.");
            }
            request.waitingSlots = params.width();
            Sinks.Many<RequestOutput> sink = Sinks.many().unicast().onBackpressureBuffer();
            sinks.put(request, sink);
            incoming.add(request);
            outputs.add(sink.asFlux().doOnCancel(() -> abort(request)));
        }
        if (shutdown) {
            // Shutdown began meanwhile and may not look at the queue again: withdraw everything.
            for (Request r : requests) {
                if (incoming.remove(r)) {
                    sinks.remove(r);
                    active.remove(r.requestId(), r);
                    releaseWaiting(r);
                }
            }
            throw new EngineStoppedException();
        }
        wake();
        return outputs;
    }

    /** Takes {@code n} places in the waiting queue, or refuses the whole submission. */
    private void reserveWaiting(int n) {
        int limit = config.maxWaitingRequests();
        if (n > limit) {
            throw new InvalidRequestException(null, "This request has " + n + " sequences (prompts x n), more than the"
                    + " server queues at once (" + limit + "); send fewer prompts or a smaller n/best_of.");
        }
        while (true) {
            int now = waitingSequences.get();
            if (now + n > limit) {
                metrics.rejected.increment();
                throw new EngineOverloadedException("The server is busy: " + now + " sequences are waiting (limit "
                        + limit + "); retry later.", 1);
            }
            if (waitingSequences.compareAndSet(now, now + n)) return;
        }
    }

    /** Gives back a group's places in the waiting queue, once: when it is first scheduled or ends before. */
    private void releaseWaiting(Request g) {
        int n = g.waitingSlots;
        if (n == 0) return;
        g.waitingSlots = 0;
        waitingSequences.addAndGet(-n);
    }

    /** A group of several sequences must fit the batch and, at worst without sharing its outputs, the KV cache. */
    private void validateGroup(int promptLen, int maxTokens, SamplingParams p) {
        int width = p.width();
        if (width <= 1) return;
        String field = p.bestOf() != null ? "best_of" : "n";
        if (width > config.maxNumSeqs()) {
            throw new InvalidRequestException(field, (p.useBeamSearch() ? "The beam width " : field + " ") + width
                    + " is more than the engine's maximum number of sequences per step (" + config.maxNumSeqs() + ").");
        }
        long need = kv.blocksFor(promptLen) + (long) width * (kv.blocksFor(maxTokens) + 1);
        if (need > kv.numTotalBlocks()) {
            throw new InvalidRequestException(field, width + " sequences of up to " + maxTokens + " tokens after a " + promptLen
                    + "-token prompt may need " + need + " KV blocks, more than the cache's " + kv.numTotalBlocks()
                    + "; lower max_tokens or " + field + ".");
        }
    }

    /** Refuses new requests from now on ({@link EngineStoppedException}); active ones go on (graceful shutdown). */
    public void stopAccepting() { draining = true; }

    /** Aborts every active request: within one step each ends with an ABORT output and frees its blocks. */
    public void abortAll() {
        aborts.addAll(active.values());
        wake();
    }

    @Override
    public boolean abort(String requestId) {
        Request g = active.get(requestId);
        if (g == null) return false;
        aborts.add(g);
        wake();
        return true;
    }

    private void abort(Request request) {
        aborts.add(request);
        wake();
    }

    private void wake() {
        if (shutdown) return;
        if (loopQueued.compareAndSet(false, true)) loopThread.schedule(this::loop);
    }

    /** Runs steps while there is work; returns (parks) when there is none. */
    private void loop() {
        engineThread = Thread.currentThread();
        while (true) {
            if (shutdown) { loopQueued.set(false); return; }
            try {
                admitIncoming();
                processAborts();
                if (scheduler.hasWork()) step();
                else publishStats();
            } catch (Throwable t) {
                // Only a bug gets here (step() contains model failures); keep serving the others.
                log.error("Engine loop error", t);
                failAll(t);
            }
            if (!scheduler.hasWork() && !hasNews()) {
                loopQueued.set(false);
                // A request that came in after the check above but saw loopQueued still true is caught here.
                if (!hasNews() || !loopQueued.compareAndSet(false, true)) return;
            }
        }
    }

    /** Something from another thread for the loop: a request, an abort, a KV report to build. */
    private boolean hasNews() { return !incoming.isEmpty() || !aborts.isEmpty() || kvReports.asked(); }

    private void admitIncoming() {
        Request r;
        while ((r = incoming.poll()) != null) {
            if (r.isFinished()) continue; // aborted before it was admitted
            outputs.open(r.all.getFirst());
            scheduler.addRequest(r);
        }
    }

    private void processAborts() {
        Request g;
        List<Request> aborted = new ArrayList<>();
        while ((g = aborts.poll()) != null) {
            if (g.isFinished()) continue;
            for (Sequence r : g.sequences()) scheduler.finishSequence(r, FinishReason.ABORT);
            g.finish(FinishReason.ABORT);
            retire(g, true);
            aborted.add(g);
        }
        if (aborted.isEmpty()) return;
        publishStats(); // before the outputs: a subscriber that sees its end sees the blocks freed
        for (Request a : aborted) {
            Sinks.Many<RequestOutput> sink = sinks.remove(a);
            if (sink == null) continue;
            sink.tryEmitNext(OutputProcessor.aborted(a));
            sink.tryEmitComplete();
        }
    }

    private void step() {
        SchedulerOutput out = scheduler.schedule();
        metrics.recordSchedule(out, scheduler.numPreemptions());
        // Swaps and copies first, even in a step that runs nothing: freed blocks may be reused next.
        runner.applyBlockOps(out.blockOps());
        metrics.recordBlockOps(out.blockOps());
        if (out.isEmpty()) {
            if (out.preempted().isEmpty() && out.blockOps().isEmpty() && scheduler.hasWork()) {
                // Nothing can move (cannot happen with a cache that holds what validation allows); never spin on it.
                Sequence head = scheduler.numRunning() > 0 ? scheduler.running().getLast()
                        : scheduler.numSwapped() > 0 ? scheduler.swapped().getFirst() : scheduler.waiting().getFirst();
                log.error("No progress possible: {} running, {} waiting, {} swapped, {} free blocks; failing request {}",
                        scheduler.numRunning(), scheduler.numWaiting(), scheduler.numSwapped(), kv.numFreeBlocks(), head.requestId());
                fail(List.of(scheduler.requestOf(head)), new IllegalStateException("request " + head.requestId() + " cannot be scheduled: the KV cache is too small"));
            }
            publishStats();
            return;
        }
        numSteps++;
        metrics.iterationTokens.record(out.numScheduledTokens());
        long now = System.nanoTime();
        for (ScheduledSequence s : out.scheduled()) {
            Request g = scheduler.requestOf(s.sequence());
            if (g.firstScheduledNanos < 0) {
                g.firstScheduledNanos = now;
                releaseWaiting(g);
                metrics.recordFirstScheduled(g, now);
            }
        }

        float[][] logits;
        try {
            logits = runner.execute(out, kv);
        } catch (Throwable t) {
            log.error("Step {} failed in the model; failing its {} requests", numSteps, out.scheduled().size(), t);
            Set<Request> failed = new LinkedHashSet<>();
            for (ScheduledSequence s : out.scheduled()) failed.add(scheduler.requestOf(s.sequence()));
            fail(failed, t);
            return;
        }
        scheduler.updateFromStep(out);

        long stepNanos = System.nanoTime();
        Map<Request, List<SequenceDelta>> deltas = new LinkedHashMap<>();
        for (int i = 0; i < out.scheduled().size(); i++) {
            ScheduledSequence s = out.scheduled().get(i);
            Sequence r = s.sequence();
            if (r.numUncomputedTokens() != 0 || r.isFinished()) continue; // a prompt chunk short of the end: nothing to sample
            Request g = scheduler.requestOf(r);
            try {
                tokens.process(g, r, logits[i], stepNanos, deltas);
            } catch (Throwable t) {
                log.error("Sampling failed for request {}", r.requestId(), t);
                deltas.remove(g);
                fail(List.of(g), t);
            }
        }
        for (Request g : deltas.keySet()) if (g.isFinished()) retire(g, true);
        publishStats();
        var hook = afterStep;
        if (hook != null) hook.accept(this);
        metrics.recordStepDone(out, stats);
        List<Runnable> emissions = new ArrayList<>(deltas.size());
        for (Map.Entry<Request, List<SequenceDelta>> e : deltas.entrySet()) {
            Request g = e.getKey();
            Sinks.Many<RequestOutput> sink = g.isFinished() ? sinks.remove(g) : sinks.get(g);
            if (sink == null) continue;
            RequestOutput output = OutputProcessor.output(g, e.getValue());
            boolean done = g.isFinished();
            emissions.add(() -> {
                sink.tryEmitNext(output);
                if (done) sink.tryEmitComplete();
            });
        }
        for (Runnable e : emissions) {
            try {
                e.run();
            } catch (Throwable t) {
                // A subscriber that throws must not take the step (or the other requests) down.
                log.warn("A subscriber failed while receiving its output", t);
            }
        }
    }

    /** Called on the engine thread after every step that ran the model, before its outputs go out (tests and measurements). */
    volatile java.util.function.Consumer<LLMEngine> afterStep;

    /**
     * Takes a finished request off the engine's books, once: its places in the waiting queue, its
     * id, its texts; {@code count} records it in the metrics (not for a failed one).
     */
    private void retire(Request g, boolean count) {
        if (!active.remove(g.requestId(), g)) return;
        releaseWaiting(g);
        outputs.close(g);
        if (count) metrics.recordFinished(g);
    }

    /** Fails the requests of these sequences with an error: their blocks are freed and their Flux errors. */
    private void fail(Collection<Request> groups, Throwable error) {
        for (Request g : groups) {
            if (!g.isFinished()) {
                for (Sequence r : g.sequences()) scheduler.finishSequence(r, FinishReason.ABORT);
                g.finish(FinishReason.ABORT);
            }
            retire(g, false);
        }
        publishStats();
        for (Request g : groups) {
            Sinks.Many<RequestOutput> s = sinks.remove(g);
            if (s != null) s.tryEmitError(error);
        }
    }

    private void failAll(Throwable error) {
        fail(scheduler.requests(), error);
    }

    private void publishStats() {
        stats = new EngineStats(scheduler.numRunning(), scheduler.numWaiting() + incoming.size(), kv.numFreeBlocks(), kv.numTotalBlocks(),
                kv.usage(), scheduler.numPreemptions(), scheduler.numSwapped(), kv.swapUsage(), kv.numFreeSwapBlocks(), kv.numSwapBlocks());
        kvReports.atBoundary(numSteps);
    }

    /**
     * Stops the loop: running and waiting requests end with an ABORT output, new ones are refused,
     * and the engine thread is released. Waits up to 30 s for a step in flight to end.
     */
    public void shutdown() {
        if (shutdown) return;
        shutdown = true;
        CountDownLatch done = new CountDownLatch(1);
        loopThread.schedule(() -> {
            try {
                engineThread = Thread.currentThread();
                admitIncoming();
                aborts.addAll(scheduler.requests());
                processAborts();
                publishStats();
                kvReports.current(numSteps); // what kvReport() returns from now on
            } finally {
                done.countDown();
            }
        });
        try {
            if (!done.await(30, TimeUnit.SECONDS)) log.warn("Engine shutdown: the step in flight did not end within 30 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        loopThread.dispose();
        runner.close();
    }

    /** Whether {@link #shutdown()} has begun. */
    public boolean isShutdown() { return shutdown; }

    @Override
    public void close() { shutdown(); }
}
