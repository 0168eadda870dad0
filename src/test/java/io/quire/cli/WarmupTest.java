package io.quire.cli;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The benches' warm-up: how long it waits for passes that still allocate, and the note under a table. */
class WarmupTest {
    private static final long MS = 1_000_000L;
    private static final long ALLOCATING = 10 * Warmup.COMPILED_PASS_BYTES;

    @Test
    void stopsWaitingOnceTheJitHasCompiledNothingForTheIdleTime() {
        AtomicLong passes = new AtomicLong();
        long start = System.nanoTime();
        // Every pass allocates like boxed vectors; the JIT's compile time never moves.
        Warmup.run(0.05, 2, () -> { passes.incrementAndGet(); return ALLOCATING; }, () -> 1234, 20_000 * MS, 200 * MS);
        long elapsed = System.nanoTime() - start;
        assertThat(elapsed).as("stopped at the idle time, not the extra 20 s").isBetween(200 * MS, 5_000 * MS);
        assertThat(passes.get()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void waitsTheExtraTimeWhileTheJitStillCompiles() {
        AtomicLong compileMillis = new AtomicLong();
        long start = System.nanoTime();
        Warmup.run(0.05, 1, () -> ALLOCATING, compileMillis::incrementAndGet, 400 * MS, 100 * MS);
        long elapsed = System.nanoTime() - start;
        assertThat(elapsed).as("waited out the extra time").isGreaterThanOrEqualTo(400 * MS);
    }

    @Test
    void stopsAtTheSecondsAskedForOnceAPassAllocatesLittle() {
        AtomicLong passes = new AtomicLong();
        long start = System.nanoTime();
        Warmup.run(0.1, 3, () -> passes.incrementAndGet() < 5 ? ALLOCATING : 1024, () -> 1, 20_000 * MS, 10_000 * MS);
        assertThat(System.nanoTime() - start).isLessThan(5_000 * MS);
        assertThat(passes.get()).isGreaterThanOrEqualTo(5);
    }

    @Test
    void runsTheMinimumPassesEvenWithAnIdleJit() {
        AtomicLong passes = new AtomicLong();
        // Each pass outlasts the warm-up asked for, and the JIT is idle from the start.
        Warmup.run(0.001, 5, () -> { passes.incrementAndGet(); sleep(2); return ALLOCATING; }, () -> 1, 20_000 * MS, 0);
        assertThat(passes.get()).isEqualTo(5);
    }

    @Test
    void runsNoExtraTimeWithNoWarmupAskedFor() {
        AtomicLong passes = new AtomicLong();
        Warmup.run(0, 2, () -> { passes.incrementAndGet(); return ALLOCATING; }, () -> 1, 20_000 * MS, 10_000 * MS);
        assertThat(passes.get()).isEqualTo(2);
    }

    @Test
    void notesOnlyWhatCompiledKernelsDoNotAllocate() {
        assertThat(Warmup.boxingNote(Warmup.COMPILED_PASS_BYTES)).isNull();
        assertThat(Warmup.boxingNote(22_000 * 1024.0)).startsWith("note: a timed run allocated 22000.0 KiB")
                .contains("Vector API").contains("run it again");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
