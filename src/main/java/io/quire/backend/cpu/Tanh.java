package io.quire.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Soft-capping, {@code cap * tanh(x / cap)}, for arrays of floats in plain Vector API arithmetic (Cephes'
 * tanhf: an odd polynomial below |y| = 0.625, {@code 1 - 2 / (e^2|y| + 1)} with {@link Exp} above). The
 * Vector API's own {@code TANH} calls a native math library, which C2 fails to intrinsify in some JVMs, as
 * it did {@code EXP} (see {@link Exp}); {@link Math#tanh} is exact but a call per score, and Gemma 2 caps
 * every score of every head and all 256,000 logits of a token. Arrays in and out, as in {@link Exp}.
 */
final class Tanh {
    /** Below this |y|, the polynomial (no cancellation near 0); above, the exponential. */
    private static final float SMALL = 0.625f;
    private static final float Q0 = -5.70498872745e-3f, Q1 = 2.06390887954e-2f, Q2 = -5.37397155531e-2f,
            Q3 = 1.33314422036e-1f, Q4 = -3.33332819422e-1f;

    /** Values per run through the thread's array of e^2|y|: a multiple of any vector's lanes, in L1. */
    private static final int RUN = 1024;
    private static final ThreadLocal<float[]> EXPS = ThreadLocal.withInitial(() -> new float[RUN]);

    private Tanh() {}

    /** {@code a[i] = cap * tanh(a[i] * scale / cap)} for i in [from, to); cap positive. */
    static void cap(float[] a, int from, int to, float scale, float cap) {
        final var F = Simd.F;
        final int L = Simd.L;
        float[] t = EXPS.get();
        float in = scale / cap;  // one multiply, not a divide, per value
        for (int r0 = from; r0 < to; r0 += RUN) {
            int m = Math.min(RUN, to - r0), bound = m - m % L;
            int i = 0;
            for (; i < bound; i += L) {
                FloatVector y = FloatVector.fromArray(F, a, r0 + i).mul(in);
                y.intoArray(a, r0 + i);
                y.abs().mul(2f).intoArray(t, i);
            }
            for (; i < m; i++) {
                a[r0 + i] *= in;
                t[i] = 2f * Math.abs(a[r0 + i]);
            }
            Exp.inPlace(t, 0, m);
            for (i = 0; i < bound; i += L) {
                // on |y|, y's sign put back last (so that tanh(-0) is -0, as in Math.tanh)
                FloatVector y = FloatVector.fromArray(F, a, r0 + i);
                FloatVector x = y.abs(), s = x.mul(x);
                FloatVector p = s.mul(Q0).add(Q1).mul(s).add(Q2).mul(s).add(Q3).mul(s).add(Q4).mul(s).mul(x).add(x);
                FloatVector big = FloatVector.broadcast(F, 1f).sub(FloatVector.broadcast(F, 2f)
                        .div(FloatVector.fromArray(F, t, i).add(1f)));  // e^2|y| = +inf (|y| past 44): exactly 1
                big.blend(p, x.compare(VectorOperators.LT, SMALL)).reinterpretAsInts()
                        .or(y.reinterpretAsInts().and(0x80000000)).reinterpretAsFloats().mul(cap).intoArray(a, r0 + i);
            }
            for (; i < m; i++) a[r0 + i] = cap * tanh(a[r0 + i], t[i]);
        }
    }

    /** tanh(y) as {@link #cap} computes each lane, given e^2|y|. */
    private static float tanh(float y, float exp2y) {
        float x = Math.abs(y), s = x * x;
        float t = x < SMALL ? ((((Q0 * s + Q1) * s + Q2) * s + Q3) * s + Q4) * s * x + x : 1f - 2f / (exp2y + 1f);
        return Math.copySign(t, y);
    }

    /** tanh(y), as {@link #cap} computes each lane. */
    static float tanh(float y) {
        return tanh(y, Exp.exp(2f * Math.abs(y)));
    }
}
