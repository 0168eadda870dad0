package io.quire.engine;

import io.micrometer.core.instrument.MeterRegistry;
import io.quire.kv.KvCacheManager;
import io.quire.kv.KvMemoryReport;
import io.quire.model.LanguageModel;
import io.quire.model.LoraAdapter;
import io.quire.model.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * The continuous-batching engine's loop and front door (vLLM's {@code LLMEngine} around its
 * {@code EngineCore}). Requests enter a thread-safe queue, bounded in sequences (all of a
 * submission or none); one loop on its own thread runs {@link EngineCore} steps back to back while
 * there is work and parks when there is none (a new request, an abort or a KV report request wakes
 * it), then pushes each request's output to its own sink. A failing step fails only its requests.
 *
 * <p>Outputs are emitted on the engine thread: subscribers must not block in {@code onNext}
 * (hand off with {@code publishOn} if they do real work).
 */
public final class LLMEngine implements GenerationService, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LLMEngine.class);

    private final LanguageModel<?> model;
    private final EngineConfig config;
    private final int maxModelLen;
    private final EngineMetrics metrics;
    private final EngineCore core;
    private final ModelRunner<?> runner;
    private final KvReporter kvReports;

    private final ConcurrentLinkedQueue<Request> incoming = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Request> aborts = new ConcurrentLinkedQueue<>();
    private final Map<String, Request> active = new ConcurrentHashMap<>();
    private final Map<Request, Sinks.Many<RequestOutput>> sinks = new ConcurrentHashMap<>();
    /** Reactor's Scheduler (named in full: the engine has its own); a daemon thread never keeps the JVM up. */
    private final reactor.core.scheduler.Scheduler loopThread = Schedulers.newSingle("quire-engine", true);
    private final AtomicBoolean loopQueued = new AtomicBoolean();
    private final WaitingBound waiting;
    private volatile boolean shutdown;
    private volatile boolean draining;
    private volatile EngineStats stats = new EngineStats(0, 0, 0, 0, 0, 0); // the real one once the core exists

    public LLMEngine(LanguageModel<?> model, EngineConfig config, MeterRegistry registry) {
        this(model, config, registry, null);
    }

    /** An engine that drafts tokens by n-gram lookup and verifies them each step ({@code speculative} null: not). */
    public LLMEngine(LanguageModel<?> model, EngineConfig config, MeterRegistry registry,
                     SpeculativeConfig speculative) {
        this.model = model;
        this.config = config;
        this.maxModelLen = config.resolveMaxModelLen(model.config());
        this.runner = ModelRunner.create(model, config, maxModelLen); // first: it checks the KV budget
        this.metrics = new EngineMetrics(registry, model.name(), () -> stats);
        this.waiting = new WaitingBound(config.maxWaitingRequests(), metrics.rejected);
        SpeculativeDecoding speculation = speculative == null ? null
                : new SpeculativeDecoding(speculative, maxModelLen, metrics, registry, model.name());
        this.core = new EngineCore(model, config, maxModelLen, runner, metrics, waiting::release, speculation);
        this.kvReports = new KvReporter(core.kv(), core.scheduler(), runner.kvBytesPerBlock());
        stats = core.stats(0);
        kvReports.current(0);
        KvMetrics.register(registry, model.name(), this::kvReport);
    }

    @Override public Tokenizer tokenizer() { return model.tokenizer(); }

    @Override public String modelName() { return model.name(); }

    @Override public int maxModelLen() { return maxModelLen; }

    @Override
    public SamplingParams defaultParams(Integer maxTokens) {
        return SamplingParams.defaults(maxTokens, model.generationDefaults());
    }

    public EngineConfig config() { return config; }

    /**
     * Runs made-up sequences through the model, a round and then more for about {@code budget}
     * ({@link Warmup}), so the first requests find the kernels compiled. Only before the first
     * request: it writes KV blocks no request may own yet. It runs on the engine thread, which then
     * serves: that thread's scratch buffers exist by then, and C2 compiled the kernels on what that
     * thread saw (on the caller's thread, the engine thread's first step met a null thread-local C2
     * had never seen and deoptimized the attention kernel).
     */
    public void warmUp(Duration budget) {
        if (core.numSteps() > 0 || !incoming.isEmpty() || !active.isEmpty()) {
            throw new IllegalStateException("warm-up runs before the first request, not after");
        }
        if (budget.isZero() || budget.isNegative()) return;
        CompletableFuture<Void> done = new CompletableFuture<>();
        loopThread.schedule(() -> {
            try {
                runner.warmUp(maxModelLen, budget);
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        try {
            done.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error r) throw r;
            throw e;
        }
    }

    /** The scheduler (engine thread only, e.g. in a KV report listener: tests and measurements). */
    Scheduler scheduler() { return core.scheduler(); }

    /** Block tables, reference counts, prefix cache, swap pool (engine thread only, or once stopped: tests). */
    public KvCacheManager kvCacheManager() { return core.kv(); }

    /** The latest snapshot (taken after each step, and before any output of that step is emitted). */
    public EngineStats stats() { return stats; }

    public int numFreeBlocks() { return stats.numFreeBlocks(); }

    public int numTotalBlocks() { return stats.numTotalBlocks(); }

    /** Requests submitted and not finished yet (thread-safe). */
    public int numActiveRequests() { return active.size(); }

    /**
     * Whether steps and requests from now on count in the {@code quire_*} metrics (they do unless
     * turned off): off while the server sends its own warm-up requests, before it is ready.
     */
    public void countInMetrics(boolean count) { metrics.muted = !count; }

    /**
     * The KV memory report, built on the engine thread at a step boundary ({@link KvReporter}):
     * at once on that thread or when nothing changed since the last one, else after the step in flight.
     */
    public KvMemoryReport kvReport() { return kvReports.report(core::numSteps, this::wake, shutdown); }

    /**
     * Calls {@code listener} on the engine thread with the report taken after each step, before
     * the step's outputs are emitted (for benchmarks that average over steps). It must not block.
     */
    public void addKvReportListener(Consumer<KvMemoryReport> listener) { kvReports.addListener(listener); }

    @Override
    public List<LoraAdapter> adapters() { return model.adapters(); }

    @Override
    public List<Flux<RequestOutput>> generate(List<String> requestIds, List<int[]> prompts, SamplingParams params,
                                              String cacheSalt, int priority, String adapter) {
        if (shutdown || draining) throw new EngineStoppedException();
        if (requestIds.size() != prompts.size()) throw new IllegalArgumentException("one request id per prompt");
        List<Request> requests = IntStream.range(0, prompts.size())
                .mapToObj(i -> core.newRequest(requestIds.get(i), prompts.get(i), params, cacheSalt, priority, adapter))
                .toList();
        return submit(requests, params.width());
    }

    @Override
    public List<Flux<RequestOutput>> embed(List<String> requestIds, List<int[]> prompts, String cacheSalt,
                                           int priority, String adapter) {
        if (shutdown || draining) throw new EngineStoppedException();
        if (requestIds.size() != prompts.size()) throw new IllegalArgumentException("one request id per prompt");
        List<Request> requests = IntStream.range(0, prompts.size())
                .mapToObj(i -> core.newEmbeddingRequest(requestIds.get(i), prompts.get(i), cacheSalt, priority,
                        adapter))
                .toList();
        return submit(requests, 1);
    }

    /** Queues validated requests of {@code width} sequences each, all or none. */
    private List<Flux<RequestOutput>> submit(List<Request> requests, int width) {
        waiting.reserve(requests.size() * width); // all of the submission, or none
        List<Flux<RequestOutput>> fluxes = new ArrayList<>(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            Request request = requests.get(i);
            if (active.putIfAbsent(request.requestId(), request) != null) {
                // Withdraw what this submission queued already: all or none.
                for (Request queued : requests.subList(0, i)) abort(queued);
                waiting.release((requests.size() - i) * width);
                throw new InvalidRequestException(null, "Request id " + request.requestId() + " is already in use.");
            }
            request.waitingSlots = width;
            Sinks.Many<RequestOutput> sink = Sinks.many().unicast().onBackpressureBuffer();
            sinks.put(request, sink);
            incoming.add(request);
            fluxes.add(sink.asFlux().doOnCancel(() -> abort(request)));
        }
        if (shutdown) {
            // Shutdown began meanwhile and may not look at the queue again: withdraw everything.
            for (Request r : requests) {
                if (!incoming.remove(r)) continue;
                sinks.remove(r);
                active.remove(r.requestId(), r);
                waiting.release(r);
            }
            throw new EngineStoppedException();
        }
        wake();
        return fluxes;
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
        Request r = active.get(requestId);
        if (r != null) abort(r);
        return r != null;
    }

    private void abort(Request request) {
        aborts.add(request);
        wake();
    }

    private void wake() {
        if (!shutdown && loopQueued.compareAndSet(false, true)) loopThread.schedule(this::loop);
    }

    /** Runs steps while there is work; returns (parks) when there is none. */
    private void loop() {
        while (!shutdown) {
            try {
                admitIncoming();
                processAborts();
                if (core.scheduler().hasWork()) deliver(core.step());
                else publishStats();
            } catch (Throwable t) {
                // Only a bug gets here (a step contains model failures); keep serving the others.
                log.error("Engine loop error", t);
                deliver(core.failAll(t));
            }
            if (!core.scheduler().hasWork() && !hasNews()) {
                loopQueued.set(false);
                // News that came after the check above but saw loopQueued still true is caught here.
                if (!hasNews() || !loopQueued.compareAndSet(false, true)) return;
            }
        }
        loopQueued.set(false);
    }

    /** Something from another thread for the loop: a request, an abort, a KV report to build. */
    private boolean hasNews() { return !incoming.isEmpty() || !aborts.isEmpty() || kvReports.asked(); }

    private void admitIncoming() {
        for (Request r; (r = incoming.poll()) != null; ) {
            if (!r.isFinished()) core.add(r); // else aborted before it was admitted
        }
    }

    private void processAborts() {
        List<Request> aborted = new ArrayList<>();
        for (Request r; (r = aborts.poll()) != null; ) {
            if (r.isFinished()) continue;
            core.abort(r);
            retire(r, true);
            aborted.add(r);
        }
        if (aborted.isEmpty()) return;
        publishStats(); // before the outputs: a subscriber that sees its end sees the blocks freed
        for (Request r : aborted) emit(r, OutputProcessor.aborted(r));
    }

    /** Delivers what a step did: ended requests leave the books, the step boundary, then the outputs. */
    private void deliver(EngineCore.StepResult result) {
        for (Request r : result.failed().keySet()) retire(r, false);
        for (Request r : result.outputs().keySet()) if (r.isFinished()) retire(r, true);
        publishStats();
        if (result.ranModel()) metrics.logThroughput(stats);
        result.failed().forEach(this::emitError);
        result.outputs().forEach((r, deltas) -> emit(r, OutputProcessor.output(r, deltas)));
    }

    /** Pushes a request's output to its sink (completing it with the last one) on the engine thread. */
    private void emit(Request r, RequestOutput output) {
        Sinks.Many<RequestOutput> sink = output.finished() ? sinks.remove(r) : sinks.get(r);
        if (sink == null) return;
        try {
            sink.tryEmitNext(output);
            if (output.finished()) sink.tryEmitComplete();
        } catch (Throwable t) {
            // A subscriber that throws must not take the step (or the other requests) down.
            log.warn("A subscriber failed while receiving its output", t);
        }
    }

    private void emitError(Request r, Throwable error) {
        Sinks.Many<RequestOutput> sink = sinks.remove(r);
        if (sink != null) sink.tryEmitError(error);
    }

    /**
     * Takes an ended request off the books, once: its places in the waiting queue, its id, its
     * texts; {@code count} records it in the metrics (not for a failed one).
     */
    private void retire(Request r, boolean count) {
        if (!active.remove(r.requestId(), r)) return;
        waiting.release(r);
        core.forget(r);
        if (count) metrics.recordFinished(r);
    }

    /** A step boundary: a new stats snapshot, and the KV report for whoever wants one. */
    private void publishStats() {
        int notAdmitted = 0;
        for (Request r : incoming) notAdmitted += r.maxRunningSeqs();
        stats = core.stats(notAdmitted);
        kvReports.atBoundary(core.numSteps());
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
                admitIncoming();
                aborts.addAll(core.scheduler().requests());
                processAborts();
                publishStats();
                kvReports.current(core.numSteps()); // what kvReport() returns from now on
            } finally {
                done.countDown();
            }
        });
        try {
            if (!done.await(30, TimeUnit.SECONDS)) log.warn("Engine shutdown: the step in flight ran past 30 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        loopThread.dispose();
        core.close();
    }

    /** Whether {@link #shutdown()} has begun. */
    public boolean isShutdown() { return shutdown; }

    @Override
    public void close() { shutdown(); }
}
