package io.quire.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The one thread pool the CPU kernels share. A parallel loop splits its range into chunks that
 * the caller and up to {@code threads() - 1} pool helpers claim from a shared counter. The caller
 * never waits for a helper that has not started: a helper that is not scheduled simply finds no
 * chunk left, so the loop degrades to single-threaded speed when only one core is available.
 * The caller only blocks (parks, no spinning) while chunks that others have claimed finish.
 */
public final class Parallel {

    /** Chunks per thread: more than one, so a thread that is descheduled holds back little work. */
    private static final int CHUNKS_PER_THREAD = 4;

    private static volatile int threads = Runtime.getRuntime().availableProcessors();
    private static volatile ForkJoinPool pool;

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
        ForkJoinPool old = pool;
        pool = null;
        if (old != null) old.shutdown();
    }

    public static int threads() {
        return threads;
    }

    private static ForkJoinPool pool(int helpers) {
        ForkJoinPool p = pool;
        if (p != null && p.getParallelism() == helpers) return p;
        synchronized (Parallel.class) {
            p = pool;
            if (p == null || p.getParallelism() != helpers) {
                if (p != null) p.shutdown();
                p = new ForkJoinPool(helpers, fjp -> {
                    ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(fjp);
                    t.setName("quire-cpu-" + t.getPoolIndex());
                    t.setDaemon(true);
                    return t;
                }, null, false);
                pool = p;
            }
            return p;
        }
    }

    /**
     * Below this many elementary operations (multiply-adds, say) a loop runs inline: waking a pool
     * thread costs microseconds, more than the work it would take over.
     */
    public static final long MIN_PARALLEL_WORK = 1 << 17;

    /**
     * Like {@link #forRange(int, IntRangeBody)}, but inline when {@code totalWork} is below {@link #MIN_PARALLEL_WORK}.
     */
    public static void forRange(int n, long totalWork, IntRangeBody body) {
        if (totalWork < MIN_PARALLEL_WORK) {
            if (n > 0) body.run(0, n);
        } else {
            forRange(n, body);
        }
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into disjoint chunks; returns when all are done.
     * Exceptions thrown by the body are rethrown in the caller (the first one wins).
     */
    public static void forRange(int n, IntRangeBody body) {
        if (n <= 0) return;
        int t = threads;
        if (t == 1 || n == 1) {
            body.run(0, n);
            return;
        }
        int chunks = Math.min(n, t * CHUNKS_PER_THREAD);
        Loop loop = new Loop(n, chunks, body, Thread.currentThread());
        int helpers = Math.min(t - 1, chunks - 1);
        ForkJoinPool p = pool(t - 1);
        for (int i = 0; i < helpers; i++) p.execute(loop::work);
        loop.work();
        loop.awaitAll();
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
