package io.quire.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x for arrays of floats in plain Vector API arithmetic (Cephes' expf: x = n ln 2 + r, |r| <= ln 2 / 2,
 * a degree-7 polynomial for e^r, 2^n put into the exponent bits; within 2 ulp of the true value). The
 * Vector API's own {@code EXP} calls a native math library, and C2 fails to intrinsify that call in some
 * JVMs: every vector it gets is then boxed and the call runs in Java (JFR put `bench prefill` JVMs' whole
 * surplus allocation, 4.5 MB a 100-token pass, 360 MB a 1,000-token one and 1.75x its time, at softmax's
 * {@code EXP}). These operations are ones C2 compiles; each takes a scalar or a vector an operation just
 * made, not one kept from before the loop (such an argument, where C2 inlines late, is what it fails to
 * type, as decode's {@code sub(m)} showed). Arrays in and out: a helper that took or returned a vector
 * would box it wherever C2 did not inline it.
 */
final class Exp {
    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 in two parts, the first exact in few bits, so that {@code x - n ln 2} loses nothing for |n| <= 128. */
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /**
     * Past these, e^x is +infinity (ln of the largest float) or taken as 0 (below about 2.2e-38, where 2^(n-1)
     * below would leave the normal floats).
     */
    static final float MAX = 88.72283f, MIN = -86.98f;
    /** 1.5 * 2^23: added to a float under 2^22 in magnitude, it leaves that float rounded to an integer. */
    private static final float ROUND = 12582912f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    private Exp() {}

    /** {@code a[i] = e^a[i]} for i in [from, to): whole vectors, then the same arithmetic one value at a time. */
    static void inPlace(float[] a, int from, int to) {
        int bound = to - (to - from) % Simd.L;
        exp(a, from, bound, NO_SHIFT, 0, null);
        for (int i = bound; i < to; i++) a[i] = exp(a[i]);
    }

    /**
     * {@code a[i] = e^(a[i] - m[(i - from) % L])} for i in [from, to), a whole number of vectors, m the vector
     * at {@code lanes[off]}; then the sum of each lane's values goes to {@code lanes[off..off+L)}, in place of
     * m: a softmax over rows in vector lanes (AttentionTile) in one pass over its scores, not three.
     */
    static void shifted(float[] a, int from, int to, float[] lanes, int off) {
        if ((to - from) % Simd.L != 0) throw new IllegalArgumentException("not whole vectors: " + from + ".." + to);
        exp(a, from, to, lanes, off, lanes);
    }

    /** Zeros to shift by: x - 0 is x, -0 and NaN included. */
    private static final float[] NO_SHIFT = new float[Simd.L];

    /**
     * The vectors of [from, to) shifted by the one at {@code shift[off]}; their per-lane sums to
     * {@code sums[off..]} when sums is not null. No vector is chosen by a branch: a vector that two paths
     * merge is one whose class C2 may not know where it inlines late, and it was boxed so (a 1,000-token
     * prompt allocated 24 MB a pass in some JVMs).
     */
    private static void exp(float[] a, int from, int to, float[] shift, int off, float[] sums) {
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector sum = FloatVector.zero(F);
        for (int i = from; i < to; i += L) {
            // the shift read per vector, not kept from before the loop: see the class comment
            FloatVector x = FloatVector.fromArray(F, a, i).sub(FloatVector.fromArray(F, shift, off));
            // No clamp of x to [MIN, MAX] first: outside it the blends below replace whatever the arithmetic
            // made (Java's max and min, NaN-exact, were 10 of the loop's 37 instructions).
            FloatVector big = x.fma(LOG2E, ROUND);
            FloatVector n = big.sub(ROUND);
            FloatVector r = x.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
            FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(F, P2)).fma(r, FloatVector.broadcast(F, P3))
                    .fma(r, FloatVector.broadcast(F, P4)).fma(r, FloatVector.broadcast(F, P5));
            FloatVector y = p.fma(r.mul(r), r).add(1f);
            // 2y times 2^(n-1), so that n = 128 (x up to ln of the largest float) stays in range: n - 1 + 127
            // into the exponent, the bits of big being those of ROUND plus n in its lowest ones.
            IntVector e = big.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND) - 126).lanewise(VectorOperators.LSHL, 23);
            FloatVector v = y.mul(2f).mul(e.reinterpretAsFloats())
                    .blend(0f, x.compare(VectorOperators.LT, MIN))
                    .blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, MAX));
            v.intoArray(a, i);
            sum = v.add(sum);  // v.add(sum), not sum.add(v): AttentionTile.softmax says why
        }
        if (sums != null) sum.intoArray(sums, off);
    }

    /** e^x, as {@link #inPlace} computes each lane. */
    static float exp(float x) {
        if (x < MIN) return 0f;
        if (x > MAX) return Float.POSITIVE_INFINITY;
        if (Float.isNaN(x)) return x;
        float big = Math.fma(x, LOG2E, ROUND);
        float n = big - ROUND;
        float r = x - n * LN2_HI - n * LN2_LO;
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, P0, P1), r, P2), r, P3), r, P4), r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        int e = (Float.floatToRawIntBits(big) - (Float.floatToRawIntBits(ROUND) - 126)) << 23;
        return y * 2f * Float.intBitsToFloat(e);
    }
}
