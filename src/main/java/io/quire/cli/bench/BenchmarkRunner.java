package io.quire.cli.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiFunction;

/**
 * Sends the requests at their arrival times, never more than {@code maxConcurrency} at once
 * (zero: no limit), and waits for all of them. A request whose arrival time has passed while it
 * waited for a free slot goes as soon as one frees, as in vLLM. The calling thread sleeps
 * between arrivals (it never spins). At the global deadline nothing more is sent and requests
 * still in flight are cut off; unsent requests count as failed.
 */
public final class BenchmarkRunner {
    /** Sends one request: (request, sentAt seconds since start) to its eventual result. */
    public interface Send extends BiFunction<BenchRequest, Double, CompletableFuture<RequestResult>> {}

    private final double[] arrivals;
    private final int maxConcurrency;
    private final long globalTimeoutNanos;

    public BenchmarkRunner(double[] arrivals, int maxConcurrency, long globalTimeoutNanos) {
        this.arrivals = arrivals;
        this.maxConcurrency = maxConcurrency;
        this.globalTimeoutNanos = globalTimeoutNanos;
    }

    /** Runs {@code requests} through {@code sender}, starting now. */
    public RunResult run(List<BenchRequest> requests, RequestSender sender) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + globalTimeoutNanos;
        return run(requests, start, deadline, (r, at) -> sender.send(r, at, deadline));
    }

    RunResult run(List<BenchRequest> requests, long start, long deadline, Send send) throws InterruptedException {
        if (arrivals.length < requests.size()) {
            throw new IllegalArgumentException("need an arrival time for each of the " + requests.size() + " requests");
        }
        Semaphore slots = maxConcurrency > 0 ? new Semaphore(maxConcurrency, true) : null;
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        List<CompletableFuture<RequestResult>> futures = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            BenchRequest request = requests.get(i);
            long due = start + (long) (arrivals[i] * 1e9);
            sleepUntil(Math.min(due, deadline));
            boolean slot = System.nanoTime() < deadline
                    && (slots == null || slots.tryAcquire(Math.max(0, deadline - System.nanoTime()),
                    TimeUnit.NANOSECONDS));
            if (!slot) {
                double at = (System.nanoTime() - start) / 1e9;
                for (int j = i; j < requests.size(); j++) {
                    futures.add(CompletableFuture.completedFuture(RequestResult.failure(
                            requests.get(j).index(), "not sent before the benchmark's global timeout", 0, at)));
                }
                break;
            }
            peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            double sentAt = (System.nanoTime() - start) / 1e9;
            CompletableFuture<RequestResult> f;
            try {
                f = send.apply(request, sentAt);
            } catch (RuntimeException e) {
                f = CompletableFuture.completedFuture(RequestResult.failure(request.index(), "not sent: "
                        + e.getMessage(), 0, sentAt));
            }
            futures.add(f.whenComplete((r, e) -> {
                inFlight.decrementAndGet();
                if (slots != null) slots.release();
            }));
        }
        List<RequestResult> results = new ArrayList<>(futures.size());
        for (CompletableFuture<RequestResult> f : futures) {
            results.add(f.join());
        }
        double duration = (System.nanoTime() - start) / 1e9;
        return new RunResult(results, duration, peak.get());
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long left;
        while ((left = nanos - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
            if (Thread.interrupted()) throw new InterruptedException();
        }
    }
}
