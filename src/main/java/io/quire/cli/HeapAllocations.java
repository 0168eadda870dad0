package io.quire.cli;

import java.lang.management.ManagementFactory;

/** Bytes allocated on the heap by all threads so far, for the benchmarks' allocation columns. */
final class HeapAllocations {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private HeapAllocations() {}

    static long total() {
        return THREADS.getTotalThreadAllocatedBytes();
    }
}
