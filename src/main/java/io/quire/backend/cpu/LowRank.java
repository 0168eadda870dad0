package io.quire.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * A low-rank update of a projection's output rows, {@code y += scale * B (A x)}: what a LoRA adapter
 * adds to the base model's product. The rank is small (8 to 64 typically), so each row costs
 * {@code rank * (in + out)} multiply-adds, a few percent of the base product; rows are shared out
 * over the CPU threads when there are enough of them.
 */
public final class LowRank {
    private LowRank() {}

    /**
     * For each row {@code t} in {@code [from, to)}: {@code y[t] += scale * B (A x[t])}, with x rows of
     * {@code in} values, y rows of {@code out}, {@code a} = A as {@code [rank][in]} and {@code bt} = B
     * transposed, {@code [rank][out]}.
     */
    public static void add(float[] x, int in, float[] a, float[] bt, int rank, float scale, float[] y, int out,
            int from, int to) {
        Parallel.forRange(to - from, (long) (to - from) * rank * (in + out), (f, t) -> {
            float[] h = new float[rank];
            for (int row = from + f; row < from + t; row++) {
                for (int k = 0; k < rank; k++) h[k] = scale * dot(a, k * in, x, row * in, in);
                for (int k = 0; k < rank; k++) axpy(y, row * out, h[k], bt, k * out, out);
            }
        });
    }

    private static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }

    /** {@code y[yOff + i] += alpha * x[xOff + i]} for i below n. */
    private static void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n) {
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector a = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            FloatVector.fromArray(F, x, xOff + i).fma(a, FloatVector.fromArray(F, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }
}
