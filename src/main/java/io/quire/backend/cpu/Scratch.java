package io.quire.backend.cpu;

/**
 * Per-thread scratch arrays of the attention kernels: grown (at least doubled) when a call needs more,
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
}
