package io.quire.backend.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * {@link BatchTile}'s kernels on panels of 8 vectors (256-bit float vectors), for the batches that
 * class packs so on a core that splits 512-bit ops in two: each (row, vector) sum is the same FMA
 * chain over the columns as in the 16-lane kernels, so a vector gets the same bits in either.
 * Written out again rather than shared: the Vector API needs a constant species in each loop for
 * C2 to compile it to vector instructions.
 */
final class NarrowPanels {
    /** Vectors per panel. */
    static final int L = 8;

    private NarrowPanels() {}

    static void kernel6x2(float[] w, int wOff, int cols, float[] panels, int p, float[] tile) {
        final var F = FloatVector.SPECIES_256;
        int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols, w4 = w3 + cols, w5 = w4 + cols;
        int q0 = p * cols * L, q1 = q0 + cols * L;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
        // Two columns an iteration, as BatchTile.kernel6x2 (the same bits).
        int even = cols & ~1, c = 0;
        for (; c < even; c += 2) {
            int o = c * L;
            FloatVector v0 = FloatVector.fromArray(F, panels, q0 + o);
            FloatVector v1 = FloatVector.fromArray(F, panels, q1 + o);
            FloatVector m = FloatVector.broadcast(F, w[w0 + c]);
            a00 = m.fma(v0, a00); a01 = m.fma(v1, a01);
            m = FloatVector.broadcast(F, w[w1 + c]);
            a10 = m.fma(v0, a10); a11 = m.fma(v1, a11);
            m = FloatVector.broadcast(F, w[w2 + c]);
            a20 = m.fma(v0, a20); a21 = m.fma(v1, a21);
            m = FloatVector.broadcast(F, w[w3 + c]);
            a30 = m.fma(v0, a30); a31 = m.fma(v1, a31);
            m = FloatVector.broadcast(F, w[w4 + c]);
            a40 = m.fma(v0, a40); a41 = m.fma(v1, a41);
            m = FloatVector.broadcast(F, w[w5 + c]);
            a50 = m.fma(v0, a50); a51 = m.fma(v1, a51);
            v0 = FloatVector.fromArray(F, panels, q0 + o + L);
            v1 = FloatVector.fromArray(F, panels, q1 + o + L);
            m = FloatVector.broadcast(F, w[w0 + c + 1]);
            a00 = m.fma(v0, a00); a01 = m.fma(v1, a01);
            m = FloatVector.broadcast(F, w[w1 + c + 1]);
            a10 = m.fma(v0, a10); a11 = m.fma(v1, a11);
            m = FloatVector.broadcast(F, w[w2 + c + 1]);
            a20 = m.fma(v0, a20); a21 = m.fma(v1, a21);
            m = FloatVector.broadcast(F, w[w3 + c + 1]);
            a30 = m.fma(v0, a30); a31 = m.fma(v1, a31);
            m = FloatVector.broadcast(F, w[w4 + c + 1]);
            a40 = m.fma(v0, a40); a41 = m.fma(v1, a41);
            m = FloatVector.broadcast(F, w[w5 + c + 1]);
            a50 = m.fma(v0, a50); a51 = m.fma(v1, a51);
        }
        if (c < cols) {
            int o = c * L;
            FloatVector v0 = FloatVector.fromArray(F, panels, q0 + o);
            FloatVector v1 = FloatVector.fromArray(F, panels, q1 + o);
            FloatVector m = FloatVector.broadcast(F, w[w0 + c]);
            a00 = m.fma(v0, a00); a01 = m.fma(v1, a01);
            m = FloatVector.broadcast(F, w[w1 + c]);
            a10 = m.fma(v0, a10); a11 = m.fma(v1, a11);
            m = FloatVector.broadcast(F, w[w2 + c]);
            a20 = m.fma(v0, a20); a21 = m.fma(v1, a21);
            m = FloatVector.broadcast(F, w[w3 + c]);
            a30 = m.fma(v0, a30); a31 = m.fma(v1, a31);
            m = FloatVector.broadcast(F, w[w4 + c]);
            a40 = m.fma(v0, a40); a41 = m.fma(v1, a41);
            m = FloatVector.broadcast(F, w[w5 + c]);
            a50 = m.fma(v0, a50); a51 = m.fma(v1, a51);
        }
        a00.intoArray(tile, 0); a01.intoArray(tile, L);
        a10.intoArray(tile, 2 * L); a11.intoArray(tile, 3 * L);
        a20.intoArray(tile, 4 * L); a21.intoArray(tile, 5 * L);
        a30.intoArray(tile, 6 * L); a31.intoArray(tile, 7 * L);
        a40.intoArray(tile, 8 * L); a41.intoArray(tile, 9 * L);
        a50.intoArray(tile, 10 * L); a51.intoArray(tile, 11 * L);
    }

    static void kernel8x1(float[] w, int wOff, int cols, float[] panels, int p, float[] tile) {
        final var F = FloatVector.SPECIES_256;
        int w0 = wOff, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols, w4 = w3 + cols, w5 = w4 + cols;
        int w6 = w5 + cols, w7 = w6 + cols;
        int q0 = p * cols * L;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        // Two columns an iteration, as BatchTile.kernel6x2 (the same bits).
        int even = cols & ~1, c = 0;
        for (; c < even; c += 2) {
            FloatVector v = FloatVector.fromArray(F, panels, q0 + c * L);
            a0 = FloatVector.broadcast(F, w[w0 + c]).fma(v, a0);
            a1 = FloatVector.broadcast(F, w[w1 + c]).fma(v, a1);
            a2 = FloatVector.broadcast(F, w[w2 + c]).fma(v, a2);
            a3 = FloatVector.broadcast(F, w[w3 + c]).fma(v, a3);
            a4 = FloatVector.broadcast(F, w[w4 + c]).fma(v, a4);
            a5 = FloatVector.broadcast(F, w[w5 + c]).fma(v, a5);
            a6 = FloatVector.broadcast(F, w[w6 + c]).fma(v, a6);
            a7 = FloatVector.broadcast(F, w[w7 + c]).fma(v, a7);
            v = FloatVector.fromArray(F, panels, q0 + c * L + L);
            a0 = FloatVector.broadcast(F, w[w0 + c + 1]).fma(v, a0);
            a1 = FloatVector.broadcast(F, w[w1 + c + 1]).fma(v, a1);
            a2 = FloatVector.broadcast(F, w[w2 + c + 1]).fma(v, a2);
            a3 = FloatVector.broadcast(F, w[w3 + c + 1]).fma(v, a3);
            a4 = FloatVector.broadcast(F, w[w4 + c + 1]).fma(v, a4);
            a5 = FloatVector.broadcast(F, w[w5 + c + 1]).fma(v, a5);
            a6 = FloatVector.broadcast(F, w[w6 + c + 1]).fma(v, a6);
            a7 = FloatVector.broadcast(F, w[w7 + c + 1]).fma(v, a7);
        }
        if (c < cols) {
            FloatVector v = FloatVector.fromArray(F, panels, q0 + c * L);
            a0 = FloatVector.broadcast(F, w[w0 + c]).fma(v, a0);
            a1 = FloatVector.broadcast(F, w[w1 + c]).fma(v, a1);
            a2 = FloatVector.broadcast(F, w[w2 + c]).fma(v, a2);
            a3 = FloatVector.broadcast(F, w[w3 + c]).fma(v, a3);
            a4 = FloatVector.broadcast(F, w[w4 + c]).fma(v, a4);
            a5 = FloatVector.broadcast(F, w[w5 + c]).fma(v, a5);
            a6 = FloatVector.broadcast(F, w[w6 + c]).fma(v, a6);
            a7 = FloatVector.broadcast(F, w[w7 + c]).fma(v, a7);
        }
        a0.intoArray(tile, 0); a1.intoArray(tile, L); a2.intoArray(tile, 2 * L); a3.intoArray(tile, 3 * L);
        a4.intoArray(tile, 4 * L); a5.intoArray(tile, 5 * L); a6.intoArray(tile, 6 * L); a7.intoArray(tile, 7 * L);
    }

    static void kernel6x1(long w, int cols, float[] panels, int p, float[] tile) {
        final var F = FloatVector.SPECIES_256;
        final java.lang.foreign.MemorySegment seg = Simd.ALL;
        final long rb = 4L * cols;
        long w0 = w, w1 = w0 + rb, w2 = w1 + rb, w3 = w2 + rb, w4 = w3 + rb, w5 = w4 + rb;
        int q0 = p * cols * L;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        for (int c = 0; c < cols; c++) {
            long b = 4L * c;
            FloatVector v = FloatVector.fromArray(F, panels, q0 + c * L);
            a0 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w0 + b)).fma(v, a0);
            a1 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w1 + b)).fma(v, a1);
            a2 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w2 + b)).fma(v, a2);
            a3 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w3 + b)).fma(v, a3);
            a4 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w4 + b)).fma(v, a4);
            a5 = FloatVector.broadcast(F, seg.get(Layouts.FLOAT_LE, w5 + b)).fma(v, a5);
        }
        a0.intoArray(tile, 0); a1.intoArray(tile, L); a2.intoArray(tile, 2 * L);
        a3.intoArray(tile, 3 * L); a4.intoArray(tile, 4 * L); a5.intoArray(tile, 5 * L);
    }
}
