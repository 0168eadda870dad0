package io.quire.engine;

import io.micrometer.core.instrument.MeterRegistry;
import io.quire.backend.KvCache;
import io.quire.kv.KVCacheManager;
import io.quire.model.ForwardBatch;
import io.quire.model.LanguageModel;
import io.quire.model.tokenizer.StreamingDetokenizer;
import io.quire.model.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The continuous-batching engine (vLLM v1's {@code EngineCore} in one process). Requests enter a
 * thread-safe queue; one loop on its own thread runs steps back to back while there is work and
 * parks when there is none (a new request or an abort wakes it). A step: schedule, build the flat
 * batch, run the model, sample, detokenize and check stops, free finished requests' blocks, then
 * push each request's output to its own sink. A failing step fails only the requests in it.
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
    private final KvCache kvCache;
    private final KVCacheManager kv;
    private final Scheduler scheduler;
    private final Sampler sampler = new Sampler();
    private final EngineMetrics metrics;
    private final Set<Integer> eosIds;

    private final ConcurrentLinkedQueue<Request> incoming = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Request> aborts = new ConcurrentLinkedQueue<>();
    private final Map<String, Request> active = new ConcurrentHashMap<>();
    private final Map<Request, RequestStream> streams = new ConcurrentHashMap<>();
    private final reactor.core.scheduler.Scheduler loopThread = Schedulers.newSingle("quire-engine", true); // daemon: never keeps the JVM alive
    private final AtomicBoolean loopQueued = new AtomicBoolean();
    private volatile boolean shutdown;
    private volatile EngineStats stats;
    private long numSteps;
    private long lastLogNanos = System.nanoTime();
    private long promptTokensSinceLog, generationTokensSinceLog;
    private static final long LOG_INTERVAL_NANOS = 10_000_000_000L;

    /** A request's way out: its sink, its detokenizer and its stop-string matcher. */
    private record RequestStream(Sinks.Many<RequestOutput> sink, StreamingDetokenizer detokenizer, StopStringMatcher stops) {}

    public LLMEngine(LanguageModel model, EngineConfig config, MeterRegistry registry) {
        this.model = model;
        this.tokenizer = model.tokenizer();
        this.config = config;
        this.maxModelLen = config.resolveMaxModelLen(model.config());
        this.vocabSize = model.config().vocabSize();
        int numBlocks = config.numBlocks(model.config());
        if ((long) numBlocks * config.blockSize() < maxModelLen) {
            // As vLLM: one request of the full context must fit, or it could never finish.
            throw new IllegalArgumentException("The KV cache budget of " + config.kvCacheBytes() + " bytes holds " + numBlocks + " blocks of "
                    + config.blockSize() + " tokens (" + (long) numBlocks * config.blockSize() + " tokens), less than the maximum model length "
                    + maxModelLen + "; raise the KV cache budget or lower the maximum model length");
        }
        this.kvCache = model.newKvCache(numBlocks, config.blockSize());
        this.kv = new KVCacheManager(numBlocks, config.blockSize());
        this.scheduler = new Scheduler(config.maxNumSeqs(), config.maxNumBatchedTokens(), kv);
        this.eosIds = Set.copyOf(tokenizer.endOfGenerationIds());
        publishStats();
        this.metrics = new EngineMetrics(registry, model.name(), () -> stats);
        log.info("Engine for {}: {} KV blocks of {} tokens ({} MiB), max model len {}, max {} seqs / {} tokens per step",
                model.name(), numBlocks, config.blockSize(), EngineConfig.kvBytesFor(model.config(), config.blockSize(), numBlocks) >> 20,
                maxModelLen, config.maxNumSeqs(), config.maxNumBatchedTokens());
    }

    @Override
    public Tokenizer tokenizer() { return tokenizer; }

    @Override
    public String modelName() { return model.name(); }

    @Override
    public int maxModelLen() { return maxModelLen; }

    public EngineConfig config() { return config; }

    /** The latest snapshot (taken after each step, and before any output of that step is emitted). */
    public EngineStats stats() { return stats; }

    public int numFreeBlocks() { return stats.numFreeBlocks(); }

    public int numTotalBlocks() { return stats.numTotalBlocks(); }

    @Override
    public Flux<RequestOutput> generate(String requestId, int[] promptTokenIds, SamplingParams params) {
        if (shutdown) throw new IllegalStateException("the engine is shut down");
        if (requestId == null || requestId.isEmpty()) throw new InvalidRequestException(null, "A request id is required.");
        int maxTokens = RequestValidator.validate(promptTokenIds, params, vocabSize, maxModelLen);
        Request request = new Request(requestId, promptTokenIds, params, maxTokens, System.nanoTime());
        if (active.putIfAbsent(requestId, request) != null) throw new InvalidRequestException(null, "Request id " + requestId + " is already in use.");
        Sinks.Many<RequestOutput> sink = Sinks.many().unicast().onBackpressureBuffer();
        streams.put(request, new RequestStream(sink, new StreamingDetokenizer(tokenizer, params.skipSpecialTokens()),
                new StopStringMatcher(params.stop() == null ? List.of() : params.stop(), params.includeStopStrInOutput())));
        incoming.add(request);
        if (shutdown && incoming.remove(request)) {
            // Shutdown began meanwhile and will not look at the queue again.
            streams.remove(request);
            active.remove(requestId, request);
            throw new IllegalStateException("the engine is shut down");
        }
        wake();
        return sink.asFlux().doOnCancel(() -> abort(request));
    }

    /** Aborts a request by id (its Flux gets a final ABORT output); false if it is not active. */
    public boolean abort(String requestId) {
        Request r = active.get(requestId);
        if (r == null) return false;
        abort(r);
        return true;
    }

    private void abort(Request request) {
        request.abortRequested = true;
        aborts.add(request);
        wake();
    }

    private void wake() {
        if (shutdown) return;
        if (loopQueued.compareAndSet(false, true)) loopThread.schedule(this::loop);
    }

    /** Runs steps while there is work; returns (parks) when there is none. */
    private void loop() {
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
            if (!scheduler.hasWork() && incoming.isEmpty() && aborts.isEmpty()) {
                loopQueued.set(false);
                // A request that came in after the check above but saw loopQueued still true is caught here.
                if ((incoming.isEmpty() && aborts.isEmpty()) || !loopQueued.compareAndSet(false, true)) return;
            }
        }
    }

    private void admitIncoming() {
        Request r;
        while ((r = incoming.poll()) != null) {
            if (!r.isFinished()) scheduler.addRequest(r); // aborted before it was admitted
        }
    }

    private void processAborts() {
        Request r;
        List<Request> aborted = new ArrayList<>();
        while ((r = aborts.poll()) != null) {
            if (r.isFinished()) continue;
            finish(r, FinishReason.ABORT);
            aborted.add(r);
        }
        if (aborted.isEmpty()) return;
        publishStats(); // before the outputs: a subscriber that sees its end sees the blocks freed
        for (Request a : aborted) {
            RequestStream s = streams.remove(a);
            if (s == null) continue;
            s.sink().tryEmitNext(new RequestOutput(a.requestId(), List.of(new SequenceDelta(0, "", new int[0], List.of(), FinishReason.ABORT)),
                    a.numPromptTokens(), a.numOutputTokens(), true));
            s.sink().tryEmitComplete();
        }
    }

    private void step() {
        SchedulerOutput out = scheduler.schedule();
        if (!out.preempted().isEmpty()) metrics.preemptions.increment(out.preempted().size());
        if (out.isEmpty()) {
            if (out.preempted().isEmpty() && scheduler.numRunning() == 0 && scheduler.numWaiting() > 0) {
                // Cannot happen with a cache that holds max-model-len tokens; never spin on it.
                Request head = scheduler.waiting().getFirst();
                fail(List.of(head), new IllegalStateException("request " + head.requestId() + " cannot be scheduled: the KV cache is too small"));
            }
            publishStats();
            return;
        }
        numSteps++;
        metrics.iterationTokens.record(out.numScheduledTokens());
        long now = System.nanoTime();
        for (ScheduledRequest s : out.scheduled()) {
            if (s.request().firstScheduledNanos < 0) {
                s.request().firstScheduledNanos = now;
                EngineMetrics.record(metrics.queueTime, now - s.request().arrivalNanos());
            }
        }

        float[][] logits;
        try {
            logits = model.forward(buildBatch(out), kvCache);
            if (logits.length != out.scheduled().size()) {
                throw new IllegalStateException("model returned logits for " + logits.length + " sequences, expected " + out.scheduled().size());
            }
        } catch (Throwable t) {
            log.error("Step {} failed in the model; failing its {} requests", numSteps, out.scheduled().size(), t);
            List<Request> failed = new ArrayList<>();
            for (ScheduledRequest s : out.scheduled()) failed.add(s.request());
            fail(failed, t);
            return;
        }
        scheduler.updateFromStep(out);

        List<Runnable> emissions = new ArrayList<>(out.scheduled().size());
        for (int i = 0; i < out.scheduled().size(); i++) {
            ScheduledRequest s = out.scheduled().get(i);
            Request r = s.request();
            if (r.numUncomputedTokens() != 0 || r.isFinished()) continue; // a prompt chunk short of the end: nothing to sample
            try {
                emissions.add(sampleAndCheck(r, logits[i]));
            } catch (Throwable t) {
                log.error("Sampling failed for request {}", r.requestId(), t);
                fail(List.of(r), t);
            }
        }
        publishStats();
        for (ScheduledRequest s : out.scheduled()) {
            if (s.start() < s.request().numPromptTokens()) promptTokensSinceLog += Math.min(s.numNewTokens(), s.request().numPromptTokens() - s.start());
        }
        generationTokensSinceLog += emissions.size();
        logThroughput();
        for (Runnable e : emissions) {
            try {
                e.run();
            } catch (Throwable t) {
                // A subscriber that throws must not take the step (or the other requests) down.
                log.warn("A subscriber failed while receiving its output", t);
            }
        }
    }

    /** vLLM's periodic engine log line, at most every 10 s while there is work. */
    private void logThroughput() {
        long now = System.nanoTime();
        if (now - lastLogNanos < LOG_INTERVAL_NANOS) return;
        double secs = (now - lastLogNanos) / 1e9;
        EngineStats s = stats;
        log.info("Avg prompt throughput: {} tokens/s, Avg generation throughput: {} tokens/s, Running: {} reqs, Waiting: {} reqs, KV cache usage: {}%, Preemptions: {}",
                String.format("%.1f", promptTokensSinceLog / secs), String.format("%.1f", generationTokensSinceLog / secs), s.running(), s.waiting(),
                String.format("%.1f", s.kvCacheUsage() * 100), s.numPreemptions());
        lastLogNanos = now;
        promptTokensSinceLog = 0;
        generationTokensSinceLog = 0;
    }

    private ForwardBatch buildBatch(SchedulerOutput out) {
        int numTokens = out.numScheduledTokens();
        int numSeqs = out.scheduled().size();
        int[] tokens = new int[numTokens];
        int[] positions = new int[numTokens];
        int[] slots = new int[numTokens];
        int[] queryStart = new int[numSeqs + 1];
        int[][] blockTables = new int[numSeqs][];
        int t = 0;
        for (int s = 0; s < numSeqs; s++) {
            ScheduledRequest sr = out.scheduled().get(s);
            Request r = sr.request();
            queryStart[s] = t;
            kv.slotMapping(r.requestId(), sr.start(), sr.numNewTokens(), slots, t);
            for (int i = 0; i < sr.numNewTokens(); i++, t++) {
                tokens[t] = r.token(sr.start() + i);
                positions[t] = sr.start() + i;
            }
            blockTables[s] = kv.blockTable(r.requestId());
        }
        queryStart[numSeqs] = t;
        return new ForwardBatch(tokens, positions, slots, queryStart, blockTables);
    }

    /** Samples the request's next token, checks every stop condition, and returns its emission. */
    private Runnable sampleAndCheck(Request r, float[] logits) {
        SamplingParams p = r.params();
        Sampler.Sample sample = sampler.sample(logits, p, r.samplingState(), suppressedBeforeMinTokens(p));
        int token = sample.tokenId();
        r.appendOutput(token);
        metrics.generationTokens.increment();

        long now = System.nanoTime();
        if (r.firstTokenNanos < 0) {
            r.firstTokenNanos = now;
            EngineMetrics.record(metrics.timeToFirstToken, now - r.arrivalNanos());
            metrics.promptTokens.increment(r.numPromptTokens());
        } else {
            EngineMetrics.record(metrics.interTokenLatency, now - r.lastTokenNanos);
            EngineMetrics.record(metrics.timePerOutputToken, now - r.lastTokenNanos);
        }
        r.lastTokenNanos = now;

        RequestStream stream = streams.get(r);
        boolean minReached = r.numOutputTokens() >= p.minTokens();
        boolean stopToken = minReached && ((!p.ignoreEos() && eosIds.contains(token)) || (p.stopTokenIds() != null && p.stopTokenIds().contains(token)));
        // As vLLM, a stop token's own text is left out unless stop strings are to be included.
        String piece = stopToken && !p.includeStopStrInOutput() ? "" : stream.detokenizer().add(token);
        StringBuilder text = new StringBuilder(stream.stops().add(piece, minReached));
        FinishReason reason = null;
        if (stream.stops().matched() != null || stopToken) reason = FinishReason.STOP;
        else if (r.numOutputTokens() >= r.maxTokens() || r.numTokens() >= maxModelLen) reason = FinishReason.LENGTH;
        if (reason != null && stream.stops().matched() == null) {
            text.append(stream.stops().add(stream.detokenizer().flush(), minReached));
            text.append(stream.stops().flush());
        }
        if (reason != null) finish(r, reason);

        List<TokenLogprob> lps = sample.logprob() == null ? List.of() : List.of(sample.logprob());
        RequestOutput output = new RequestOutput(r.requestId(), List.of(new SequenceDelta(0, text.toString(), new int[]{token}, lps, reason)),
                r.numPromptTokens(), r.numOutputTokens(), reason != null);
        boolean done = reason != null;
        if (done) streams.remove(r);
        return () -> {
            stream.sink().tryEmitNext(output);
            if (done) stream.sink().tryEmitComplete();
        };
    }

    private Set<Integer> suppressedBeforeMinTokens(SamplingParams p) {
        if (p.minTokens() == 0) return Set.of();
        Set<Integer> ids = new HashSet<>();
        if (!p.ignoreEos()) ids.addAll(eosIds);
        if (p.stopTokenIds() != null) ids.addAll(p.stopTokenIds());
        return ids;
    }

    /** Takes a request out and frees its blocks at once; counts it and records its latency. */
    private void finish(Request r, FinishReason reason) {
        scheduler.finishRequest(r, reason);
        active.remove(r.requestId(), r);
        metrics.requestSuccess.get(reason).increment();
        EngineMetrics.record(metrics.e2eLatency, System.nanoTime() - r.arrivalNanos());
    }

    /** Fails requests with an error: their blocks are freed and their Flux errors. */
    private void fail(List<Request> requests, Throwable error) {
        for (Request r : requests) {
            if (!r.isFinished()) {
                scheduler.finishRequest(r, FinishReason.ABORT);
                active.remove(r.requestId(), r);
            }
        }
        publishStats();
        for (Request r : requests) {
            RequestStream s = streams.remove(r);
            if (s != null) s.sink().tryEmitError(error);
        }
    }

    private void failAll(Throwable error) {
        List<Request> all = new ArrayList<>(scheduler.running());
        all.addAll(scheduler.waiting());
        fail(all, error);
    }

    private void publishStats() {
        stats = new EngineStats(scheduler.numRunning(), scheduler.numWaiting() + incoming.size(), kv.numFreeBlocks(), kv.numTotalBlocks(),
                kv.usage(), scheduler.numPreemptions());
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
                aborts.addAll(scheduler.running());
                aborts.addAll(scheduler.waiting());
                processAborts();
                publishStats();
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
    }

    /** Whether {@link #shutdown()} has begun. */
    public boolean isShutdown() { return shutdown; }

    @Override
    public void close() { shutdown(); }
}
