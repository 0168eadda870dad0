package io.quire.cli;

import java.util.function.LongSupplier;

/**
 * The benches' warm-up: untimed passes for a while, then on while a pass still allocates like
 * uncompiled kernels. C2 compiles the big vector kernels only after thousands of calls, and until then
 * their Java fallback runs them, boxing every vector (megabytes a step, where a compiled step
 * allocates a few KiB of the bench's own arrays).
 */
final class Warmup {
    /** Longest warm-up beyond the seconds asked for while passes still allocate. */
    static final int MAX_EXTRA_SECONDS = 60;
    /** Heap bytes a pass of compiled kernels may allocate: the bench's own arrays and objects. */
    static final long COMPILED_PASS_BYTES = 128 * 1024;

    private Warmup() {}

    /**
     * Runs {@code pass} (which returns the heap bytes it allocated) at least {@code minPasses} times and
     * for {@code seconds}, then on while it allocates more than {@link #COMPILED_PASS_BYTES}, at most
     * {@value #MAX_EXTRA_SECONDS} s more (none when {@code seconds} is 0).
     */
    static void run(double seconds, int minPasses, LongSupplier pass) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long last = seconds == 0 ? end : end + MAX_EXTRA_SECONDS * 1_000_000_000L;
        long allocated = Long.MAX_VALUE;
        for (int i = 0; i < minPasses || System.nanoTime() < end
                || allocated > COMPILED_PASS_BYTES && System.nanoTime() < last; i++) {
            allocated = pass.getAsLong();
        }
    }
}
