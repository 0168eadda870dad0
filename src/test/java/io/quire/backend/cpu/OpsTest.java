package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import java.util.Random;
import org.junit.jupiter.api.Test;

class OpsTest {
    private final Random random = new Random(11);

    private float[] randomValues(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian() * 3);
        return v;
    }

    @Test
    void rmsNormMatchesFormula() {
        int n = 77;
        float[] x = randomValues(n + 3);
        float[] w = randomValues(n);
        float[] out = new float[n + 2];
        Ops.rmsNorm(out, 2, x, 3, w, n, 1e-5f);
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double) x[3 + i] * x[3 + i];
        double inv = 1 / Math.sqrt(ss / n + 1e-5);
        for (int i = 0; i < n; i++) assertThat((double) out[2 + i])
                .isCloseTo(x[3 + i] * inv * w[i], offset(1e-5 * (1 + Math.abs(x[3 + i] * inv * w[i]))));
    }

    @Test
    void siluMulMatchesFormula() {
        int n = 83;
        float[] g = randomValues(n);
        float[] u = randomValues(n);
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) expected[i] = (float) (g[i] / (1 + Math.exp(-g[i])) * u[i]);
        Ops.siluMul(g, u, n);
        for (int i = 0; i < n; i++) assertThat(g[i])
                .isCloseTo(expected[i], offset(1e-5f * (1 + Math.abs(expected[i]))));
    }

    @Test
    void geluMulMatchesPyTorchsTanhApproximation() {
        int n = 2_085;  // past one run of the thread's array, not a multiple of the lanes
        float[] g = randomValues(n);
        g[0] = -40f;
        g[1] = 40f;
        g[2] = 0f;
        float[] u = randomValues(n);
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            double x = g[i];
            expected[i] = (float) (0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))) * u[i]);
        }
        Ops.geluMul(g, u, n);
        for (int i = 0; i < n; i++) assertThat(g[i])
                .isCloseTo(expected[i], offset(1e-5f * (1 + Math.abs(expected[i]))));
    }

    /** A prompt's gate is split over the threads by runs; each value must come out as on one thread. */
    @Test
    void gatesSplitOverThreadsGiveTheSameBits() {
        int n = 40_000 + 7;  // 40 runs of 1,024 values and a part-filled one, not a multiple of the lanes
        float[] g = randomValues(n), u = randomValues(n);
        int before = Parallel.threads();
        try {
            for (boolean gelu : new boolean[] {false, true}) {
                float[] one = g.clone(), two = g.clone();
                Parallel.setThreads(1);
                if (gelu) Ops.geluMul(one, u, n); else Ops.siluMul(one, u, n);
                Parallel.setThreads(2);
                if (gelu) Ops.geluMul(two, u, n); else Ops.siluMul(two, u, n);
                assertThat(two).as(gelu ? "GeGLU" : "SwiGLU").isEqualTo(one);
                assertThat(one).as("the gate was applied").isNotEqualTo(g);
            }
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void addAndAddBias() {
        float[] a = randomValues(37);
        float[] b = randomValues(37);
        float[] sum = a.clone();
        Ops.add(sum, b, 37);
        for (int i = 0; i < 37; i++) assertThat(sum[i]).isEqualTo(a[i] + b[i]);
        float[] x = randomValues(3 * 19);
        float[] bias = randomValues(19);
        float[] y = x.clone();
        Ops.addBias(y, 3, 19, bias);
        for (int r = 0; r < 3; r++) for (int c = 0; c < 19; c++) assertThat(y[r * 19 + c])
                .isEqualTo(x[r * 19 + c] + bias[c]);
    }
}
