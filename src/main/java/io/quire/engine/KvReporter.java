package io.quire.engine;

import io.quire.kv.KvCacheManager;
import io.quire.kv.KvMemoryReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Builds the engine's {@link KvMemoryReport} when someone asks for it, not after every step. The
 * block tables belong to the engine thread, so a report is built there, at a step boundary: a
 * reader on another thread queues a request that the engine serves at its next boundary, unless
 * nothing has changed since the last report was built. While readers keep asking (a scrape reads
 * every gauge), the engine builds one at each boundary for a second, so they rarely wait. Report
 * listeners (benchmarks, tests) get the report of each step, built for them.
 */
final class KvReporter {
    private static final Logger log = LoggerFactory.getLogger(KvReporter.class);
    private static final long EAGER_NANOS = 1_000_000_000L;
    private static final long WAIT_SECONDS = 30;

    /** A report and the boundary it was built at. */
    private record Built(long boundary, KvMemoryReport report) {}

    private final KvCacheManager kv;
    private final Scheduler scheduler;
    private final long bytesPerBlock;
    private final List<Consumer<KvMemoryReport>> listeners = new CopyOnWriteArrayList<>();
    private final ConcurrentLinkedQueue<CompletableFuture<KvMemoryReport>> requests = new ConcurrentLinkedQueue<>();
    /** Step boundaries passed (the engine thread writes, any thread reads). */
    private volatile long boundary;
    private volatile Built latest;
    /** The thread that passes the boundaries, once it has: reports asked for on it are built at once. */
    private volatile Thread engineThread;
    private long lastListenerStep; // engine thread only, as is the rest below
    private long eagerUntilNanos = System.nanoTime();

    KvReporter(KvCacheManager kv, Scheduler scheduler, long bytesPerBlock) {
        this.kv = kv;
        this.scheduler = scheduler;
        this.bytesPerBlock = bytesPerBlock;
    }

    void addListener(Consumer<KvMemoryReport> listener) { listeners.add(listener); }

    /** Whether a reader waits for the next boundary (the engine loop must not park). */
    boolean asked() { return !requests.isEmpty(); }

    /**
     * Engine thread, at every step boundary ({@code step}: steps run so far): builds the report
     * if anyone wants it, answers the waiting readers, and gives the first report after a step
     * to the listeners.
     */
    void atBoundary(long step) {
        engineThread = Thread.currentThread();
        boundary++;
        boolean newStep = step != lastListenerStep;
        lastListenerStep = step;
        boolean asked = asked();
        long now = System.nanoTime();
        if (asked) eagerUntilNanos = now + EAGER_NANOS;
        if (!asked && now - eagerUntilNanos > 0 && (!newStep || listeners.isEmpty())) return;
        KvMemoryReport r = current(step);
        CompletableFuture<KvMemoryReport> f;
        while ((f = requests.poll()) != null) f.complete(r);
        if (!newStep) return;
        for (Consumer<KvMemoryReport> l : listeners) {
            try {
                l.accept(r);
            } catch (RuntimeException e) {
                log.warn("A KV report listener failed", e);
            }
        }
    }

    /** Engine thread (or before the engine runs, or after it stopped): the report of the current boundary. */
    KvMemoryReport current(long step) {
        Built b = latest;
        if (b != null && b.boundary() == boundary) return b.report();
        KvMemoryReport r = build(step);
        latest = new Built(boundary, r);
        return r;
    }

    /**
     * The report for any thread: on the engine thread the current one, built at once; elsewhere the
     * one of the engine's next step boundary, or the latest one when no boundary has passed since it
     * was built (also while the engine is held at one, and once {@code stopped}).
     *
     * @param steps steps run so far (read on the engine thread only)
     * @param wake  starts the engine loop if it is parked
     */
    KvMemoryReport report(LongSupplier steps, Runnable wake, boolean stopped) {
        if (Thread.currentThread() == engineThread) return current(steps.getAsLong());
        Built b = latest;
        if (b.boundary() == boundary || stopped) return b.report();
        CompletableFuture<KvMemoryReport> f = new CompletableFuture<>();
        requests.add(f);
        wake.run();
        // Built meanwhile: the engine may have passed its boundary before our request was queued.
        b = latest;
        if (b.boundary() == boundary) return b.report();
        try {
            return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            log.warn("No engine step boundary within {} s: returning the KV report of an earlier one", WAIT_SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
        return latest.report();
    }

    /** The report of every device block table, each sequence owned by its client request. */
    private KvMemoryReport build(long step) {
        Map<String, Sequence> bySeq = new HashMap<>();
        for (Sequence s : scheduler.running()) bySeq.put(s.seqId(), s);
        return kv.report(step, bytesPerBlock, id -> {
            Sequence seq = bySeq.get(id);
            return seq == null ? -1 : seq.numComputedTokens();
        }, id -> {
            Sequence seq = bySeq.get(id);
            return seq == null ? id : seq.requestId();
        });
    }
}
