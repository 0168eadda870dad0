package io.quire.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The helper threads the CPU kernels share. A parallel loop splits its range into chunks that the
 * caller and up to {@code threads() - 1} helpers claim from a shared counter. The caller never waits
 * for a helper that has not started: a helper that is not scheduled simply finds no chunk left, so
 * the loop degrades to single-threaded speed when only one core is available.
 *
 * <p>A forward pass runs a loop every few hundred microseconds, and waking a parked thread costs tens
 * of them here, so a helper that finishes a loop keeps looking for the next one for {@value
 * #HELPER_SPIN_NANOS} ns before it parks, and a caller whose last chunks are in a helper's hands looks
 * for their end for {@value #CALLER_SPIN_NANOS} ns before it parks. Both look with
 * {@link Thread#yield()}, which hands the core to whoever is runnable: when the second core is not
 * scheduled, the thread with work gets the one core at once, and nobody waits on a spinner.
 */
public final class Parallel {

    /** Chunks per thread: more than one, so a thread that is descheduled holds back little work. */
    private static final int CHUNKS_PER_THREAD = 4;
    /** How long an idle helper looks for the next loop before it parks: longer than the gaps in a forward pass. */
    static final long HELPER_SPIN_NANOS = 200_000;
    /** How long a caller looks for the end of its loop before it parks. */
    static final long CALLER_SPIN_NANOS = 50_000;

    private static volatile int threads = Runtime.getRuntime().availableProcessors();
    private static volatile Helper[] helpers = new Helper[0];

    private Parallel() {}

    @FunctionalInterface
    public interface IntRangeBody {
        void run(int from, int to);
    }

    /** Sets the number of threads that work on one loop, the caller included; at least 1. */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("thread count must be at least 1, got " + n);
        if (n == threads) return;
        threads = n;
        Helper[] old = helpers;
        helpers = new Helper[0];
        for (Helper h : old) h.stop();
    }

    public static int threads() {
        return threads;
    }

    private static Helper[] helpers(int count) {
        Helper[] hs = helpers;
        if (hs.length == count) return hs;
        synchronized (Parallel.class) {
            hs = helpers;
            if (hs.length != count) {
                for (Helper h : hs) h.stop();
                hs = new Helper[count];
                for (int i = 0; i < count; i++) {
                    hs[i] = new Helper();
                    Thread t = new HelperThread(hs[i], "quire-cpu-" + i);
                    t.setDaemon(true);
                    hs[i].thread = t;
                    t.start();
                }
                helpers = hs;
            }
            return hs;
        }
    }

    /**
     * Below this many elementary operations (multiply-adds, say) a loop runs inline: handing work to
     * another thread costs microseconds, more than the work it would take over.
     */
    public static final long MIN_PARALLEL_WORK = 1 << 17;

    /**
     * Whether a loop of {@code totalWork} runs on the calling thread alone (too little work, or one thread).
     * Callers on a decode step's path test it first and call their body directly, so that no lambda is
     * allocated where {@link #forRange(int, long, IntRangeBody)} would run it inline anyway.
     */
    public static boolean runsInline(long totalWork) {
        return totalWork < MIN_PARALLEL_WORK || threads == 1;
    }

    /**
     * Like {@link #forRange(int, IntRangeBody)}, but inline when {@code totalWork} is below {@link #MIN_PARALLEL_WORK}.
     */
    public static void forRange(int n, long totalWork, IntRangeBody body) {
        if (runsInline(totalWork)) {
            if (n > 0) body.run(0, n);
        } else {
            forRange(n, body);
        }
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into disjoint chunks; returns when all are done.
     * Exceptions thrown by the body are rethrown in the caller (the first one wins). A loop started
     * from inside another loop's body on a helper runs inline.
     */
    public static void forRange(int n, IntRangeBody body) {
        if (n <= 0) return;
        int t = threads;
        if (t == 1 || n == 1 || Thread.currentThread() instanceof HelperThread) {
            body.run(0, n);
            return;
        }
        int chunks = Math.min(n, t * CHUNKS_PER_THREAD);
        Loop loop = new Loop(n, chunks, body, Thread.currentThread());
        Helper[] hs = helpers(t - 1);
        for (int i = 0; i < Math.min(hs.length, chunks - 1); i++) hs[i].offer(loop);
        loop.work();
        loop.awaitAll();
    }

    /** A helper: runs the loops offered to it, looks for the next one a while, then parks. */
    private static final class Helper implements Runnable {
        final AtomicReference<Loop> next = new AtomicReference<>();
        volatile boolean parked;
        volatile boolean stopped;
        Thread thread;

        /** Hands {@code loop} over unless an earlier one is still waiting (this helper is busy: skip it). */
        void offer(Loop loop) {
            // Dekker with run(): we publish then read parked, it publishes parked then reads next.
            if (next.compareAndSet(null, loop) && parked) LockSupport.unpark(thread);
        }

        void stop() {
            stopped = true;
            LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            long idleSince = System.nanoTime();
            while (!stopped) {
                Loop loop = next.getAndSet(null);
                if (loop != null) {
                    loop.work();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < HELPER_SPIN_NANOS) {
                    Thread.yield();
                } else {
                    parked = true;
                    if (next.get() == null && !stopped) LockSupport.park(this);
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }

    /** Helper threads, so that a loop inside a loop's body runs inline there. */
    private static final class HelperThread extends Thread {
        HelperThread(Runnable r, String name) { super(r, name); }
    }

    private static final class Loop {
        final int n;
        final int chunks;
        final IntRangeBody body;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Loop(int n, int chunks, IntRangeBody body, Thread caller) {
            this.n = n;
            this.chunks = chunks;
            this.body = body;
            this.caller = caller;
        }

        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                try {
                    if (failure.get() == null) {
                        int from = (int) ((long) c * n / chunks);
                        int to = (int) ((long) (c + 1) * n / chunks);
                        body.run(from, to);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    if (done.incrementAndGet() == chunks) LockSupport.unpark(caller);
                }
            }
        }

        void awaitAll() {
            boolean interrupted = false;
            long start = System.nanoTime();
            while (done.get() < chunks && System.nanoTime() - start < CALLER_SPIN_NANOS) Thread.yield();
            while (done.get() < chunks) {
                LockSupport.park(this);
                // finish the loop first: helpers still write caller's arrays
                if (Thread.interrupted()) interrupted = true;
            }
            if (interrupted) Thread.currentThread().interrupt();
            Throwable e = failure.get();
            if (e instanceof RuntimeException re) throw re;
            if (e instanceof Error er) throw er;
            if (e != null) throw new IllegalStateException(e);
        }
    }
}
