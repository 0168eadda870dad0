package io.quire.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * A low-rank update of a projection's output rows, {@code y += scale * B (A x)}: what a LoRA adapter
 * adds to the base model's product. The rank is small (8 to 64 typically), so each row costs
 * {@code rank * (in + out)} multiply-adds, a few percent of the base product. A row is projected onto
 * four of A's rows at a time, sharing each load of x, and expanded four of B's columns at a time; the
 * rows are shared out over the CPU threads when there are enough of them.
 */
public final class LowRank {
    private LowRank() {}

    /**
     * For each of the {@code count} rows {@code t} listed in {@code rows}: {@code y[t] += scale * B (A x[t])},
     * with x rows of {@code in} values, y rows of {@code out}, {@code a} = A as {@code [rank][in]} and
     * {@code bt} = B transposed, {@code [rank][out]}.
     */
    public static void add(float[] x, int in, float[] a, float[] bt, int rank, float scale, float[] y, int out,
            int[] rows, int count) {
        Parallel.forRange(count, (long) count * rank * (in + out), (from, to) -> {
            float[] h = new float[rank];
            for (int i = from; i < to; i++) {
                int row = rows[i];
                project(a, rank, in, x, row * in, scale, h);
                expand(bt, rank, out, h, y, row * out);
            }
        });
    }

    /** {@code h[k] = scale * (A[k] . x[xOff ..])} for every k, four of A's rows per pass over x. */
    private static void project(float[] a, int rank, int in, float[] x, int xOff, float scale, float[] h) {
        final var F = Simd.F;
        final int L = Simd.L;
        int bound = in - in % L;
        int k = 0;
        for (; k + 4 <= rank; k += 4) {
            int a0 = k * in, a1 = a0 + in, a2 = a1 + in, a3 = a2 + in;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int i = 0; i < bound; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, xOff + i);
                s0 = FloatVector.fromArray(F, a, a0 + i).fma(v, s0);
                s1 = FloatVector.fromArray(F, a, a1 + i).fma(v, s1);
                s2 = FloatVector.fromArray(F, a, a2 + i).fma(v, s2);
                s3 = FloatVector.fromArray(F, a, a3 + i).fma(v, s3);
            }
            float d0 = s0.reduceLanes(VectorOperators.ADD), d1 = s1.reduceLanes(VectorOperators.ADD);
            float d2 = s2.reduceLanes(VectorOperators.ADD), d3 = s3.reduceLanes(VectorOperators.ADD);
            for (int i = bound; i < in; i++) {
                float v = x[xOff + i];
                d0 += a[a0 + i] * v;
                d1 += a[a1 + i] * v;
                d2 += a[a2 + i] * v;
                d3 += a[a3 + i] * v;
            }
            h[k] = scale * d0;
            h[k + 1] = scale * d1;
            h[k + 2] = scale * d2;
            h[k + 3] = scale * d3;
        }
        for (; k < rank; k++) {
            FloatVector s = FloatVector.zero(F);
            for (int i = 0; i < bound; i += L) {
                s = FloatVector.fromArray(F, a, k * in + i).fma(FloatVector.fromArray(F, x, xOff + i), s);
            }
            float d = s.reduceLanes(VectorOperators.ADD);
            for (int i = bound; i < in; i++) d += a[k * in + i] * x[xOff + i];
            h[k] = scale * d;
        }
    }

    /**
     * {@code y[yOff + o] += sum over k of h[k] * bt[k][o]}: four of B's columns per pass over the row of
     * y (in L1), their factors broadcast once.
     */
    private static void expand(float[] bt, int rank, int out, float[] h, float[] y, int yOff) {
        final var F = Simd.F;
        final int L = Simd.L;
        int bound = out - out % L;
        int k = 0;
        for (; k + 4 <= rank; k += 4) {
            FloatVector h0 = FloatVector.broadcast(F, h[k]), h1 = FloatVector.broadcast(F, h[k + 1]);
            FloatVector h2 = FloatVector.broadcast(F, h[k + 2]), h3 = FloatVector.broadcast(F, h[k + 3]);
            int b0 = k * out, b1 = b0 + out, b2 = b1 + out, b3 = b2 + out;
            for (int o = 0; o < bound; o += L) {
                FloatVector acc = FloatVector.fromArray(F, y, yOff + o);
                acc = FloatVector.fromArray(F, bt, b0 + o).fma(h0, acc);
                acc = FloatVector.fromArray(F, bt, b1 + o).fma(h1, acc);
                acc = FloatVector.fromArray(F, bt, b2 + o).fma(h2, acc);
                acc = FloatVector.fromArray(F, bt, b3 + o).fma(h3, acc);
                acc.intoArray(y, yOff + o);
            }
            for (int o = bound; o < out; o++) {
                y[yOff + o] += h[k] * bt[b0 + o] + h[k + 1] * bt[b1 + o] + h[k + 2] * bt[b2 + o]
                        + h[k + 3] * bt[b3 + o];
            }
        }
        for (; k < rank; k++) {
            FloatVector hk = FloatVector.broadcast(F, h[k]);
            for (int o = 0; o < bound; o += L) {
                FloatVector.fromArray(F, bt, k * out + o).fma(hk, FloatVector.fromArray(F, y, yOff + o))
                        .intoArray(y, yOff + o);
            }
            for (int o = bound; o < out; o++) y[yOff + o] += h[k] * bt[k * out + o];
        }
    }
}
