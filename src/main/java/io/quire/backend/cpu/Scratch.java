package io.quire.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-thread scratch arrays of the attention and matrix kernels: grown (at least doubled) when a call needs more,
 * never shrunk, so a step allocates nothing once the longest sequence has been seen.
 */
final class Scratch {
    private Scratch() {}

    /** This thread's array of {@code local}, at least {@code n} floats. */
    static float[] floats(ThreadLocal<float[]> local, int n) {
        float[] a = local.get();
        if (a.length < n) {
            a = new float[Math.max(n, a.length * 2)];
            local.set(a);
        }
        return a;
    }

    /** This thread's array of {@code local}, at least {@code n} ints. */
    static int[] ints(ThreadLocal<int[]> local, int n) {
        int[] a = local.get();
        if (a.length < n) {
            a = new int[Math.max(n, a.length * 2)];
            local.set(a);
        }
        return a;
    }

    /** This thread's array of {@code local}, at least {@code n} shorts. */
    static short[] shorts(ThreadLocal<short[]> local, int n) {
        short[] a = local.get();
        if (a.length < n) {
            a = new short[Math.max(n, a.length * 2)];
            local.set(a);
        }
        return a;
    }

    /**
     * This thread's native buffer of {@code local}, at least {@code n} floats, 64-byte aligned, for
     * kernels that read by absolute address; the caller keeps it reachable while it reads.
     */
    static MemorySegment nativeFloats(ThreadLocal<MemorySegment> local, long n) {
        MemorySegment a = local.get();
        if (a == null || a.byteSize() < 4 * n) {
            a = Arena.ofAuto().allocate(4 * Math.max(n, a == null ? 0 : a.byteSize() / 2), 64);
            local.set(a);
        }
        return a;
    }
}
