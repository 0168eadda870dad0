package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ADD;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;

/**
 * Eight stored F32 rows dotted with a batch of vectors, two at a time: F32's row-by-row path at every
 * batch size up to {@link MatMul#smallBatch}. Eight rows at once keep eight memory streams in flight
 * and let each load of x serve eight rows; two vectors make 16 accumulators, so each weight load feeds
 * two FMAs, and the pairs after the first find the rows in L2. Dot products, not {@link BatchTile}'s
 * outer products: every lane of every FMA does useful work at any batch size, where an outer-product
 * panel of 2-8 vectors leaves lanes empty and broadcasts every weight on its own (bench kernels, 2048
 * x 768, 2 threads, 16 lanes: batch 2 4x faster, 8 1.3x, 18 1.5x, 32 and 128 equal). The 16
 * accumulators need AVX-512's 32 registers; AVX2's 16 spill them (docs/performance.md).
 *
 * <p>Every (row, vector) sum is one FMA chain over the whole vectors of columns, the same lane
 * reduction and the same scalar tail, whichever pair or batch it came in: a vector gets the bits it
 * gets alone. The chains' state passes through a per-thread array between the kernel and its
 * reduction: with the reductions in the kernel itself, C2's code for two vectors ran 1.4x slower.
 */
final class F32Rows {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private F32Rows() {}

    /** Vectors whose chains' state goes through {@link #chains} at a time (32 KiB). */
    static final int GROUP = 64;

    private static final ThreadLocal<float[]> CHAINS = ThreadLocal.withInitial(() -> new float[0]);

    /** This thread's array for {@link #dot8}'s {@code acc} at a batch of {@code batch} (grow-only). */
    static float[] chains(int batch) {
        int n = 8 * Math.min(batch, GROUP) * Simd.L;
        float[] a = CHAINS.get();
        if (a.length < n) CHAINS.set(a = new float[n]);
        return a;
    }

    /**
     * Rows {@code r .. r+7} at address w (cols floats apart) dotted with the {@code batch} vectors of x
     * (vector b at {@code b * xStride}) into {@code out[b*rows + r ..]}; {@code acc} is {@link #chains}.
     * The first pair of vectors reads the rows from memory, the others from L2. (Passes over chunks of
     * columns that stay in L1 were slower, the smaller the chunks the slower: bench kernels --rows 32000
     * --cols 768, batches 4-16, chunks of 64 to 512 columns against whole rows.)
     */
    static void dot8(long w, int cols, float[] x, int xStride, int batch, float[] out, int rows, int r, float[] acc) {
        final int L = Simd.L;
        int bound = cols - cols % L;
        for (int g0 = 0; g0 < batch; g0 += GROUP) {
            int g1 = Math.min(batch, g0 + GROUP);
            int b = g0;
            for (; b + 2 <= g1; b += 2) dot8x2(w, cols, bound, x, b * xStride, (b + 1) * xStride, acc, 8 * (b - g0) * L);
            if (b < g1) dot8x1(w, cols, bound, x, b * xStride, acc, 8 * (b - g0) * L);
            for (b = g0; b < g1; b++) finish(w, cols, bound, x, b * xStride, acc, 8 * (b - g0) * L, out, b * rows + r);
        }
    }

    /**
     * Batch 1: rows {@code r .. r+15} dotted with the vector at {@code x[xOff..]} into {@code out[r ..]};
     * {@code acc} is {@link #chains} of at least two vectors. Sixteen rows in one pass keep sixteen
     * memory streams in flight where {@link #dot8} keeps eight: a single vector does too little per
     * weight to hide a stream's latency, and more misses in flight read more bytes per second (bench
     * kernels --types F32 --batches 1 --rows 65536 --cols 768, A B A B: one thread 16.7 and 17.5 GB/s
     * with eight rows, 22.1 and 23.3 with sixteen; 24 were slower again, 18.0-20.4). Each row's sum is
     * the chain {@link #dot8} forms, so the bits are the same. Its 16 chains need AVX-512's 32 registers
     * (16 lanes), as {@link #dot8x2}'s do.
     */
    static void dot16(long w, int cols, float[] x, int xOff, float[] out, int r, float[] acc) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final int L = Simd.L;
        final long rb = 4L * cols;
        int bound = cols - cols % L;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
        for (int c = 0; c < bound; c += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + c);
            long p = w + 4L * c;
            a0 = FloatVector.fromMemorySegment(F, seg, p, LE).fma(v, a0);
            a1 = FloatVector.fromMemorySegment(F, seg, p + rb, LE).fma(v, a1);
            a2 = FloatVector.fromMemorySegment(F, seg, p + 2 * rb, LE).fma(v, a2);
            a3 = FloatVector.fromMemorySegment(F, seg, p + 3 * rb, LE).fma(v, a3);
            a4 = FloatVector.fromMemorySegment(F, seg, p + 4 * rb, LE).fma(v, a4);
            a5 = FloatVector.fromMemorySegment(F, seg, p + 5 * rb, LE).fma(v, a5);
            a6 = FloatVector.fromMemorySegment(F, seg, p + 6 * rb, LE).fma(v, a6);
            a7 = FloatVector.fromMemorySegment(F, seg, p + 7 * rb, LE).fma(v, a7);
            b0 = FloatVector.fromMemorySegment(F, seg, p + 8 * rb, LE).fma(v, b0);
            b1 = FloatVector.fromMemorySegment(F, seg, p + 9 * rb, LE).fma(v, b1);
            b2 = FloatVector.fromMemorySegment(F, seg, p + 10 * rb, LE).fma(v, b2);
            b3 = FloatVector.fromMemorySegment(F, seg, p + 11 * rb, LE).fma(v, b3);
            b4 = FloatVector.fromMemorySegment(F, seg, p + 12 * rb, LE).fma(v, b4);
            b5 = FloatVector.fromMemorySegment(F, seg, p + 13 * rb, LE).fma(v, b5);
            b6 = FloatVector.fromMemorySegment(F, seg, p + 14 * rb, LE).fma(v, b6);
            b7 = FloatVector.fromMemorySegment(F, seg, p + 15 * rb, LE).fma(v, b7);
        }
        a0.intoArray(acc, 0); a1.intoArray(acc, L); a2.intoArray(acc, 2 * L); a3.intoArray(acc, 3 * L);
        a4.intoArray(acc, 4 * L); a5.intoArray(acc, 5 * L); a6.intoArray(acc, 6 * L); a7.intoArray(acc, 7 * L);
        b0.intoArray(acc, 8 * L); b1.intoArray(acc, 9 * L); b2.intoArray(acc, 10 * L); b3.intoArray(acc, 11 * L);
        b4.intoArray(acc, 12 * L); b5.intoArray(acc, 13 * L); b6.intoArray(acc, 14 * L); b7.intoArray(acc, 15 * L);
        finish(w, cols, bound, x, xOff, acc, 0, out, r);
        finish(w + 8 * rb, cols, bound, x, xOff, acc, 8 * L, out, r + 8);
    }

    /** Eight rows' chains with the vector at {@code x[xOff..]} over the whole vectors of columns. */
    private static void dot8x1(long w, int cols, int bound, float[] x, int xOff, float[] acc, int k) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final int L = Simd.L;
        final long rb = 4L * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int c = 0; c < bound; c += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + c);
            long p = w + 4L * c;
            a0 = FloatVector.fromMemorySegment(F, seg, p, LE).fma(v, a0);
            a1 = FloatVector.fromMemorySegment(F, seg, p + rb, LE).fma(v, a1);
            a2 = FloatVector.fromMemorySegment(F, seg, p + 2 * rb, LE).fma(v, a2);
            a3 = FloatVector.fromMemorySegment(F, seg, p + 3 * rb, LE).fma(v, a3);
            a4 = FloatVector.fromMemorySegment(F, seg, p + 4 * rb, LE).fma(v, a4);
            a5 = FloatVector.fromMemorySegment(F, seg, p + 5 * rb, LE).fma(v, a5);
            a6 = FloatVector.fromMemorySegment(F, seg, p + 6 * rb, LE).fma(v, a6);
            a7 = FloatVector.fromMemorySegment(F, seg, p + 7 * rb, LE).fma(v, a7);
        }
        a0.intoArray(acc, k); a1.intoArray(acc, k + L); a2.intoArray(acc, k + 2 * L); a3.intoArray(acc, k + 3 * L);
        a4.intoArray(acc, k + 4 * L); a5.intoArray(acc, k + 5 * L); a6.intoArray(acc, k + 6 * L); a7.intoArray(acc, k + 7 * L);
    }

    /**
     * Eight rows' chains with the vectors at {@code x[x0..]} and {@code x[x1..]} (written to
     * {@code acc[k..]}, then {@code 8 * L} on) over the whole vectors of columns: 10 loads feed 16 FMAs.
     */
    private static void dot8x2(long w, int cols, int bound, float[] x, int x0, int x1, float[] acc, int k) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final int L = Simd.L;
        final long rb = 4L * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        int kb = k + 8 * L;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
        for (int c = 0; c < bound; c += L) {
            FloatVector u = FloatVector.fromArray(F, x, x0 + c);
            FloatVector v = FloatVector.fromArray(F, x, x1 + c);
            long p = w + 4L * c;
            FloatVector m = FloatVector.fromMemorySegment(F, seg, p, LE);
            a0 = m.fma(u, a0); b0 = m.fma(v, b0);
            m = FloatVector.fromMemorySegment(F, seg, p + rb, LE);
            a1 = m.fma(u, a1); b1 = m.fma(v, b1);
            m = FloatVector.fromMemorySegment(F, seg, p + 2 * rb, LE);
            a2 = m.fma(u, a2); b2 = m.fma(v, b2);
            m = FloatVector.fromMemorySegment(F, seg, p + 3 * rb, LE);
            a3 = m.fma(u, a3); b3 = m.fma(v, b3);
            m = FloatVector.fromMemorySegment(F, seg, p + 4 * rb, LE);
            a4 = m.fma(u, a4); b4 = m.fma(v, b4);
            m = FloatVector.fromMemorySegment(F, seg, p + 5 * rb, LE);
            a5 = m.fma(u, a5); b5 = m.fma(v, b5);
            m = FloatVector.fromMemorySegment(F, seg, p + 6 * rb, LE);
            a6 = m.fma(u, a6); b6 = m.fma(v, b6);
            m = FloatVector.fromMemorySegment(F, seg, p + 7 * rb, LE);
            a7 = m.fma(u, a7); b7 = m.fma(v, b7);
        }
        a0.intoArray(acc, k); a1.intoArray(acc, k + L); a2.intoArray(acc, k + 2 * L); a3.intoArray(acc, k + 3 * L);
        a4.intoArray(acc, k + 4 * L); a5.intoArray(acc, k + 5 * L); a6.intoArray(acc, k + 6 * L); a7.intoArray(acc, k + 7 * L);
        b0.intoArray(acc, kb); b1.intoArray(acc, kb + L); b2.intoArray(acc, kb + 2 * L); b3.intoArray(acc, kb + 3 * L);
        b4.intoArray(acc, kb + 4 * L); b5.intoArray(acc, kb + 5 * L); b6.intoArray(acc, kb + 6 * L); b7.intoArray(acc, kb + 7 * L);
    }

    /** Each row's chain summed over its lanes, plus the columns past the last whole vector, into out. */
    private static void finish(long w, int cols, int bound, float[] x, int xOff, float[] acc, int k, float[] out, int o) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final int L = Simd.L;
        final long rb = 4L * cols;
        for (int i = 0; i < 8; i++) {
            float s = FloatVector.fromArray(F, acc, k + i * L).reduceLanes(ADD);
            long p = w + i * rb;
            for (int c = bound; c < cols; c++) s += seg.get(Layouts.FLOAT_LE, p + 4L * c) * x[xOff + c];
            out[o + i] = s;
        }
    }
}
