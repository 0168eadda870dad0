package io.quire.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** Element-wise activation kernels on heap float arrays. */
public final class Ops {
    private Ops() {}

    /** {@code out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]} over n values; out may alias x. */
    public static void rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        final var F = Simd.F;
        final int L = Simd.L;
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i);
            acc = v.fma(v, acc);
        }
        float ss = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) ss += x[xOff + i] * x[xOff + i];
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            FloatVector.fromArray(F, x, xOff + i).mul(scale).mul(FloatVector.fromArray(F, weight, i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] = x[xOff + i] * scale * weight[i];
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]}, silu(g) = g / (1 + e^-g): the SwiGLU feed-forward gate. */
    public static void siluMul(float[] gate, float[] up, int n) {
        sigmoidGate(gate, up, n, false);
    }

    /**
     * {@code gate[i] = gelu(gate[i]) * up[i]} with the tanh approximation of GELU (PyTorch's
     * {@code gelu_pytorch_tanh}, ggml's {@code gelu}): the GeGLU feed-forward gate of Gemma. Computed as
     * {@code g / (1 + e^-2u)}, u = sqrt(2/pi) (g + 0.044715 g^3), which is {@code 0.5 g (1 + tanh u)}.
     */
    public static void geluMul(float[] gate, float[] up, int n) {
        sigmoidGate(gate, up, n, true);
    }

    /**
     * {@code gate[i] = g / (1 + e^-z) * up[i]}, z = g (SiLU) or 2u (GELU), g = gate[i]: e^-z a run at a time
     * through a per-thread array (Exp takes arrays, not vectors). A prompt's gate (tokens times the hidden
     * size: a million values at 500 tokens) is split over the threads by runs: on the calling thread alone
     * it took about 2% of a two-thread prompt while the other thread waited. Each value is computed on its
     * own, so the split does not change it. A decode step's few runs stay on the caller.
     */
    private static void sigmoidGate(float[] gate, float[] up, int n, boolean gelu) {
        int runs = (n + GATE_RUN_LENGTH - 1) / GATE_RUN_LENGTH;
        if (runs < GATE_PARALLEL_RUNS || Parallel.threads() == 1) {
            sigmoidGate(gate, up, 0, n, gelu);
            return;
        }
        Parallel.forRange(runs, (r0, r1) -> sigmoidGate(gate, up, r0 * GATE_RUN_LENGTH,
                Math.min(n, r1 * GATE_RUN_LENGTH), gelu));
    }

    /** {@link #sigmoidGate} of the values {@code from .. to-1}, from a multiple of {@link #GATE_RUN_LENGTH}. */
    private static void sigmoidGate(float[] gate, float[] up, int from, int to, boolean gelu) {
        final var F = Simd.F;
        final int L = Simd.L;
        float[] t = Scratch.floats(GATE_RUN, GATE_RUN_LENGTH);
        for (int c0 = from; c0 < to; c0 += GATE_RUN_LENGTH) {
            int m = Math.min(GATE_RUN_LENGTH, to - c0), bound = m - m % L;
            if (gelu) minusTwoU(gate, c0, m, bound, t);
            else minusG(gate, c0, m, bound, t);
            Exp.inPlace(t, 0, m);
            int i = 0;
            for (; i < bound; i += L) {
                FloatVector g = FloatVector.fromArray(F, gate, c0 + i);
                g.div(FloatVector.fromArray(F, t, i).add(1f)).mul(FloatVector.fromArray(F, up, c0 + i)).intoArray(gate, c0 + i);
            }
            for (; i < m; i++) gate[c0 + i] = gate[c0 + i] / (t[i] + 1f) * up[c0 + i];
        }
    }

    /** {@code t[i] = -gate[c0 + i]} for i < m (vectors up to bound). */
    private static void minusG(float[] gate, int c0, int m, int bound, float[] t) {
        int i = 0;
        for (; i < bound; i += Simd.L) FloatVector.fromArray(Simd.F, gate, c0 + i).neg().intoArray(t, i);
        for (; i < m; i++) t[i] = -gate[c0 + i];
    }

    /** {@code t[i] = -2u} of g = gate[c0 + i], u = sqrt(2/pi) (g + 0.044715 g^3), for i < m. */
    private static void minusTwoU(float[] gate, int c0, int m, int bound, float[] t) {
        int i = 0;
        for (; i < bound; i += Simd.L) {
            FloatVector g = FloatVector.fromArray(Simd.F, gate, c0 + i);
            g.mul(g).mul(GELU_CUBIC).add(1f).mul(g).mul(GELU_MINUS_2_SQRT_2_OVER_PI).intoArray(t, i);
        }
        for (; i < m; i++) {
            float g = gate[c0 + i];
            t[i] = (g * g * GELU_CUBIC + 1f) * g * GELU_MINUS_2_SQRT_2_OVER_PI;
        }
    }

    private static final float GELU_CUBIC = 0.044715f, GELU_MINUS_2_SQRT_2_OVER_PI = -1.5957691216057308f;
    /** Values per run of {@link #sigmoidGate}: a multiple of any vector's lanes, small enough for L1. */
    private static final int GATE_RUN_LENGTH = 1024;
    /**
     * Runs from which the gate is split over the threads: 16 runs (16,384 values, 8 tokens of a 2,048-wide
     * feed-forward) took 11.9 µs on the caller alone and 7.7 split over two threads (best of 3,000, Zen 4);
     * a million values (500 tokens) 904 and 525 µs.
     */
    private static final int GATE_PARALLEL_RUNS = 16;
    private static final ThreadLocal<float[]> GATE_RUN = ThreadLocal.withInitial(() -> new float[GATE_RUN_LENGTH]);

    /** {@code x[i] = cap * tanh(x[i] / cap)} over {@code x[off .. off+n)}: Gemma 2's logit soft-capping. */
    public static void softcap(float[] x, int off, int n, float cap) {
        Tanh.cap(x, off, off + n, 1f, cap);
    }

    /** {@code x[i] *= factor} over the first n values. */
    public static void scale(float[] x, int n, float factor) {
        for (int i = 0; i < n; i++) x[i] *= factor;
    }

    /** {@code acc[i] += x[i]}: the residual connection. */
    public static void add(float[] acc, float[] x, int n) {
        add(acc, 0, x, 0, n);
    }

    /** {@code acc[accOff + i] += x[xOff + i]} for i below n. */
    public static void add(float[] acc, int accOff, float[] x, int xOff, int n) {
        final var F = Simd.F;
        final int L = Simd.L;
        int i = 0;
        for (int bound = n - n % L; i < bound; i += L) {
            FloatVector.fromArray(F, acc, accOff + i).add(FloatVector.fromArray(F, x, xOff + i)).intoArray(acc, accOff + i);
        }
        for (; i < n; i++) acc[accOff + i] += x[xOff + i];
    }

    /** Adds {@code bias} (cols values) to each of the {@code rows} rows of x ({@code [rows][cols]}). */
    public static void addBias(float[] x, int rows, int cols, float[] bias) {
        final var F = Simd.F;
        final int L = Simd.L;
        for (int r = 0; r < rows; r++) {
            int off = r * cols;
            int i = 0;
            for (int bound = cols - cols % L; i < bound; i += L) {
                FloatVector.fromArray(F, x, off + i).add(FloatVector.fromArray(F, bias, i)).intoArray(x, off + i);
            }
            for (; i < cols; i++) x[off + i] += bias[i];
        }
    }
}
