package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ADD;

import jdk.incubator.vector.FloatVector;

/**
 * A dequantized tile of eight rows dotted with a batch of vectors, two at a time: {@link F32Rows}'
 * kernels on a float array instead of stored F32 rows, for the quantized types' batches above their
 * row-by-row limit and up to {@link MatMul#TILE_DOT_BATCH}. The tile is dequantized once (as for
 * {@link BatchTile}'s outer products) and stays in L1 while every pair of vectors goes through it;
 * the dot products use every lane of every FMA where a panel of 17-24 vectors leaves a third of its
 * lanes empty. Each (row, vector) sum is one FMA chain over whole vectors of columns, one lane
 * reduction and one scalar tail whatever the batch, so a vector's bits do not depend on the other
 * vectors beside it. Written out again rather than shared with {@link F32Rows}: C2 compiles each
 * loop to vector instructions only with its loads' source known.
 */
final class TileDots {
    private TileDots() {}

    /**
     * Rows {@code 0 .. 7} of {@code w} (from {@code wOff}, {@code cols} apart) dotted with the
     * {@code batch} vectors of x (vector b at {@code b * xStride}) into {@code out[b*rows + r ..]}, the
     * first {@code nr} rows only; {@code acc} is {@link F32Rows#chains}.
     */
    static void dot8(float[] w, int cols, float[] x, int xStride, int batch, float[] out, int rows, int r, int nr,
            float[] acc) {
        final int L = Simd.L;
        int bound = cols - cols % L;
        for (int g0 = 0; g0 < batch; g0 += F32Rows.GROUP) {
            int g1 = Math.min(batch, g0 + F32Rows.GROUP);
            int b = g0;
            for (; b + 2 <= g1; b += 2) dot8x2(w, cols, bound, x, b * xStride, (b + 1) * xStride, acc, 8 * (b - g0) * L);
            if (b < g1) dot8x1(w, cols, bound, x, b * xStride, acc, 8 * (b - g0) * L);
            for (b = g0; b < g1; b++) {
                int k = 8 * (b - g0) * L, xOff = b * xStride, o = b * rows + r;
                for (int i = 0; i < nr; i++) {
                    float s = FloatVector.fromArray(Simd.F, acc, k + i * L).reduceLanes(ADD);
                    for (int c = bound; c < cols; c++) s += w[i * cols + c] * x[xOff + c];
                    out[o + i] = s;
                }
            }
        }
    }

    private static void dot8x1(float[] w, int cols, int bound, float[] x, int xOff, float[] acc, int k) {
        final var F = Simd.F;
        final int L = Simd.L;
        final int w1 = cols, w2 = 2 * cols, w3 = 3 * cols, w4 = 4 * cols, w5 = 5 * cols, w6 = 6 * cols, w7 = 7 * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int c = 0; c < bound; c += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + c);
            a0 = FloatVector.fromArray(F, w, c).fma(v, a0);
            a1 = FloatVector.fromArray(F, w, w1 + c).fma(v, a1);
            a2 = FloatVector.fromArray(F, w, w2 + c).fma(v, a2);
            a3 = FloatVector.fromArray(F, w, w3 + c).fma(v, a3);
            a4 = FloatVector.fromArray(F, w, w4 + c).fma(v, a4);
            a5 = FloatVector.fromArray(F, w, w5 + c).fma(v, a5);
            a6 = FloatVector.fromArray(F, w, w6 + c).fma(v, a6);
            a7 = FloatVector.fromArray(F, w, w7 + c).fma(v, a7);
        }
        a0.intoArray(acc, k); a1.intoArray(acc, k + L); a2.intoArray(acc, k + 2 * L); a3.intoArray(acc, k + 3 * L);
        a4.intoArray(acc, k + 4 * L); a5.intoArray(acc, k + 5 * L); a6.intoArray(acc, k + 6 * L); a7.intoArray(acc, k + 7 * L);
    }

    private static void dot8x2(float[] w, int cols, int bound, float[] x, int x0, int x1, float[] acc, int k) {
        final var F = Simd.F;
        final int L = Simd.L;
        final int w1 = cols, w2 = 2 * cols, w3 = 3 * cols, w4 = 4 * cols, w5 = 5 * cols, w6 = 6 * cols, w7 = 7 * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        int kb = k + 8 * L;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
        for (int c = 0; c < bound; c += L) {
            FloatVector u = FloatVector.fromArray(F, x, x0 + c);
            FloatVector v = FloatVector.fromArray(F, x, x1 + c);
            FloatVector m = FloatVector.fromArray(F, w, c);
            a0 = m.fma(u, a0); b0 = m.fma(v, b0);
            m = FloatVector.fromArray(F, w, w1 + c);
            a1 = m.fma(u, a1); b1 = m.fma(v, b1);
            m = FloatVector.fromArray(F, w, w2 + c);
            a2 = m.fma(u, a2); b2 = m.fma(v, b2);
            m = FloatVector.fromArray(F, w, w3 + c);
            a3 = m.fma(u, a3); b3 = m.fma(v, b3);
            m = FloatVector.fromArray(F, w, w4 + c);
            a4 = m.fma(u, a4); b4 = m.fma(v, b4);
            m = FloatVector.fromArray(F, w, w5 + c);
            a5 = m.fma(u, a5); b5 = m.fma(v, b5);
            m = FloatVector.fromArray(F, w, w6 + c);
            a6 = m.fma(u, a6); b6 = m.fma(v, b6);
            m = FloatVector.fromArray(F, w, w7 + c);
            a7 = m.fma(u, a7); b7 = m.fma(v, b7);
        }
        a0.intoArray(acc, k); a1.intoArray(acc, k + L); a2.intoArray(acc, k + 2 * L); a3.intoArray(acc, k + 3 * L);
        a4.intoArray(acc, k + 4 * L); a5.intoArray(acc, k + 5 * L); a6.intoArray(acc, k + 6 * L); a7.intoArray(acc, k + 7 * L);
        b0.intoArray(acc, kb); b1.intoArray(acc, kb + L); b2.intoArray(acc, kb + 2 * L); b3.intoArray(acc, kb + 3 * L);
        b4.intoArray(acc, kb + 4 * L); b5.intoArray(acc, kb + 5 * L); b6.intoArray(acc, kb + 6 * L); b7.intoArray(acc, kb + 7 * L);
    }
}
