package io.quire.cli.bench;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class BenchmarkRunnerTest {
    private static final long HOUR = 3_600_000_000_000L;

    private static List<BenchRequest> requests(int n) {
        List<BenchRequest> list = new ArrayList<>();
        for (int i = 0; i < n; i++) list.add(new BenchRequest(i, "p" + i, 3, 2));
        return list;
    }

    private static RequestResult ok(BenchRequest r, double sentAt) {
        return new RequestResult(r.index(), true, null, 3, 2, true, 1, 0.001, 0.002, new double[] {0.001}, sentAt);
    }

    @Test
    void neverExceedsTheConcurrencyLimitAndKeepsRequestOrder() throws Exception {
        // The test holds every response and releases the oldest only once 3 are in flight; a
        // runner without its limit would send all 40 at once.
        List<CompletableFuture<RequestResult>> pending = new ArrayList<>();
        AtomicInteger completed = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        BenchmarkRunner runner = new BenchmarkRunner(new double[40], 3, HOUR);
        long start = System.nanoTime();
        CompletableFuture<RunResult> run = CompletableFuture.supplyAsync(() -> {
            try {
                return runner.run(requests(40), start, start + HOUR, (r, at) -> {
                    CompletableFuture<RequestResult> f = new CompletableFuture<>();
                    synchronized (pending) {
                        pending.add(f);
                        peak.accumulateAndGet(pending.size() - completed.get(), Math::max);
                        pending.notifyAll();
                    }
                    return f.thenApply(x -> ok(r, at));
                });
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        });
        for (int i = 0; i < 40; i++) {
            CompletableFuture<RequestResult> next;
            synchronized (pending) {
                while (pending.size() - completed.get() < Math.min(3, 40 - i)) pending.wait();
                next = pending.get(completed.getAndIncrement());
            }
            next.complete(null);
        }
        RunResult result = run.get();
        assertThat(peak.get()).isEqualTo(3);
        assertThat(result.peakConcurrency()).isEqualTo(3);
        assertThat(result.requests()).hasSize(40).allMatch(RequestResult::success);
        assertThat(result.requests()).extracting(RequestResult::index).isSorted().doesNotHaveDuplicates();
    }

    @Test
    void withoutALimitEveryRequestIsInFlightTogether() throws Exception {
        List<CompletableFuture<RequestResult>> pending = new ArrayList<>();
        BenchmarkRunner runner = new BenchmarkRunner(new double[10], 0, HOUR);
        long start = System.nanoTime();
        CompletableFuture<RunResult> run = CompletableFuture.supplyAsync(() -> {
            try {
                return runner.run(requests(10), start, start + HOUR, (r, at) -> {
                    CompletableFuture<RequestResult> f = new CompletableFuture<>();
                    synchronized (pending) {
                        pending.add(f);
                        pending.notifyAll();
                    }
                    return f.thenApply(x -> ok(r, at));
                });
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        });
        synchronized (pending) {
            while (pending.size() < 10) pending.wait();
            pending.forEach(f -> f.complete(null));
        }
        assertThat(run.get().peakConcurrency()).isEqualTo(10);
        assertThat(run.get().requests()).hasSize(10).allMatch(RequestResult::success);
    }

    @Test
    void nothingIsSentAfterTheDeadline() throws Exception {
        AtomicInteger sent = new AtomicInteger();
        BenchmarkRunner runner = new BenchmarkRunner(new double[5], 0, 0);
        long start = System.nanoTime();
        RunResult run = runner.run(requests(5), start, start, (r, at) -> {
            sent.incrementAndGet();
            return CompletableFuture.completedFuture(ok(r, at));
        });
        assertThat(sent.get()).isZero();
        assertThat(run.requests()).hasSize(5).noneMatch(RequestResult::success);
        assertThat(run.requests().getFirst().error()).contains("global timeout");
    }

    @Test
    void aSenderThatThrowsCountsAsAFailedRequestAndFreesItsSlot() throws Exception {
        BenchmarkRunner runner = new BenchmarkRunner(new double[4], 1, HOUR);
        long start = System.nanoTime();
        RunResult run = runner.run(requests(4), start, start + HOUR, (r, at) -> {
            if (r.index() % 2 == 0) throw new IllegalStateException("boom");
            return CompletableFuture.completedFuture(ok(r, at));
        });
        assertThat(run.requests()).extracting(RequestResult::success).containsExactly(false, true, false, true);
        assertThat(run.requests().getFirst().error()).contains("boom");
    }
}
