package io.quire.cli;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The benches' warm-up: untimed passes for a while, then on while a pass still allocates like
 * uncompiled kernels. C2 compiles the big vector kernels only after thousands of calls, and until then
 * their Java fallback runs them, boxing every vector (megabytes a step, where a compiled step
 * allocates a few KiB of the bench's own arrays). It stops waiting once the JIT has compiled nothing
 * for a while: C2 sometimes leaves a few of a large kernel's Vector API calls to their Java code
 * (docs/performance.md, "Determinism and the JIT"), which no amount of waiting changes.
 */
final class Warmup {
    /** Longest warm-up beyond the seconds asked for while passes still allocate. */
    static final int MAX_EXTRA_SECONDS = 60;
    /** How long the JIT must have compiled nothing before the warm-up stops waiting for it. */
    static final int JIT_IDLE_SECONDS = 5;
    /** Heap bytes a pass of compiled kernels may allocate: the bench's own arrays and objects. */
    static final long COMPILED_PASS_BYTES = 128 * 1024;

    private Warmup() {}

    /**
     * Runs {@code pass} (which returns the heap bytes it allocated) at least {@code minPasses} times and
     * for {@code seconds}, then on while it allocates more than {@link #COMPILED_PASS_BYTES} and the JIT
     * is still compiling, at most {@value #MAX_EXTRA_SECONDS} s more (none when {@code seconds} is 0).
     */
    static void run(double seconds, int minPasses, LongSupplier pass) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        LongSupplier compileMillis = jit != null && jit.isCompilationTimeMonitoringSupported()
                ? jit::getTotalCompilationTime : () -> -1;  // no monitoring: wait the whole extra time
        run(seconds, minPasses, pass, compileMillis, MAX_EXTRA_SECONDS * 1_000_000_000L,
                JIT_IDLE_SECONDS * 1_000_000_000L);
    }

    /** {@link #run(double, int, LongSupplier)} with the JIT's compile time, the extra and the idle time given. */
    static void run(double seconds, int minPasses, LongSupplier pass, LongSupplier compileMillis, long extraNanos,
            long idleNanos) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long last = seconds == 0 ? end : end + extraNanos;
        long allocated = Long.MAX_VALUE;
        long compiled = compileMillis.getAsLong(), changed = System.nanoTime();
        for (int i = 0; i < minPasses || System.nanoTime() < end
                || allocated > COMPILED_PASS_BYTES && System.nanoTime() < last; i++) {
            allocated = pass.getAsLong();
            long now = compileMillis.getAsLong();
            if (now != compiled || now < 0) {
                compiled = now;
                changed = System.nanoTime();
            } else if (i + 1 >= minPasses && System.nanoTime() >= end && System.nanoTime() - changed >= idleNanos) {
                break;
            }
        }
    }

    /**
     * The line a bench prints under its table when a timed run allocated more than compiled kernels do,
     * or null when none did.
     */
    static String boxingNote(double mostBytes) {
        if (mostBytes <= COMPILED_PASS_BYTES) return null;
        return String.format(Locale.ROOT, "note: a timed run allocated %.1f KiB a pass or step, where compiled kernels"
                + " allocate a few: C2 left some of this JVM's Vector API calls to their Java code, which boxes"
                + " every vector (docs/performance.md, \"Determinism and the JIT\"); run it again for the compiled"
                + " figures", mostBytes / 1024);
    }
}
