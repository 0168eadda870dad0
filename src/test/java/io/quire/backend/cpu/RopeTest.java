package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RopeTest {
    private final Random random = new Random(3);

    private float[] randomValues(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }

    /** The textbook formula, evaluated directly in double precision. */
    private static double[] direct(float[] x, int numHeads, int headDim, int p, double theta, double linearScale,
            float[] factors, boolean neox) {
        double[] out = new double[numHeads * headDim];
        int half = headDim / 2;
        for (int h = 0; h < numHeads; h++) {
            for (int i = 0; i < half; i++) {
                double freq = Math.pow(theta, -2.0 * i / headDim) / (factors == null ? 1 : factors[i]);
                double a = p / linearScale * freq;
                int i0 = h * headDim + (neox ? i : 2 * i);
                int i1 = h * headDim + (neox ? i + half : 2 * i + 1);
                out[i0] = x[i0] * Math.cos(a) - x[i1] * Math.sin(a);
                out[i1] = x[i0] * Math.sin(a) + x[i1] * Math.cos(a);
            }
        }
        return out;
    }

    @Test
    void bothLayoutsMatchTheDirectFormula() {
        float[] factors = new float[32];
        for (int i = 0; i < 32; i++) factors[i] = 1 + i % 5;
        for (boolean neox : new boolean[] {false, true}) {
            for (float[] f : new float[][] {null, factors}) {
                for (float scale : new float[] {1f, 4f}) {
                    Rope rope = new Rope(64, 300, 500000f, scale, f, neox);
                    for (int p : new int[] {0, 1, 17, 299}) {
                        float[] x = randomValues(3 * 64 + 5);
                        float[] in = new float[3 * 64];
                        System.arraycopy(x, 5, in, 0, in.length);
                        double[] expected = direct(in, 3, 64, p, 500000.0, scale, f, neox);
                        rope.apply(x, 5, 3, p);
                        for (int i = 0; i < expected.length; i++) {
                            assertThat((double) x[5 + i]).as("neox %s pos %d i %d", neox, p, i)
                                    .isCloseTo(expected[i],
                                    org.assertj.core.data.Offset.offset(2e-5 * (1 + Math.abs(expected[i]))));
                        }
                    }
                }
            }
        }
    }

    @Test
    void layoutsDiffer() {
        float[] x = randomValues(8);
        float[] a = x.clone();
        float[] b = x.clone();
        new Rope(8, 4, 10000f, 1f, null, false).apply(a, 0, 1, 3);
        new Rope(8, 4, 10000f, 1f, null, true).apply(b, 0, 1, 3);
        assertThat(a).isNotEqualTo(b);
    }

    @Test
    void dotProductDependsOnlyOnRelativePosition() {
        for (boolean neox : new boolean[] {false, true}) {
            Rope rope = new Rope(32, 200, 10000f, 1f, null, neox);
            float[] q = randomValues(32);
            float[] k = randomValues(32);
            double reference = Double.NaN;
            for (int shift : new int[] {0, 5, 50, 150}) {
                float[] qr = q.clone();
                float[] kr = k.clone();
                rope.apply(qr, 0, 1, 40 + shift);  // query 7 positions after key
                rope.apply(kr, 0, 1, 33 + shift);
                double dot = 0;
                for (int i = 0; i < 32; i++) dot += (double) qr[i] * kr[i];
                if (Double.isNaN(reference)) reference = dot;
                else assertThat(dot).as("neox %s shift %d", neox, shift)
                        .isCloseTo(reference, org.assertj.core.data.Offset.offset(1e-4 * 32));
            }
            // and it does depend on the distance
            float[] qr = q.clone();
            float[] kr = k.clone();
            rope.apply(qr, 0, 1, 60);
            rope.apply(kr, 0, 1, 33);
            double dot = 0;
            for (int i = 0; i < 32; i++) dot += (double) qr[i] * kr[i];
            assertThat(Math.abs(dot - reference)).isGreaterThan(1e-3);
        }
    }

    @Test
    void positionZeroIsIdentityAndNormIsKept() {
        Rope rope = new Rope(16, 10, 10000f, 1f, null, false);
        float[] x = randomValues(32);
        float[] y = x.clone();
        rope.apply(y, 0, 2, 0);
        assertThat(y).containsExactly(x);
        rope.apply(y, 0, 2, 9);
        double nx = 0, ny = 0;
        for (int i = 0; i < 32; i++) { nx += x[i] * x[i]; ny += y[i] * y[i]; }
        assertThat(ny).isCloseTo(nx, org.assertj.core.data.Offset.offset(1e-4 * nx));
    }

    @Test
    void rejectsPositionsOutsideTheTable() {
        Rope rope = new Rope(16, 10, 10000f, 1f, null, false);
        assertThatThrownBy(() -> rope.apply(new float[16], 0, 1, 10)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("position 10");
    }

    /** Phi-3's long-RoPE: the short factors rotate positions below the switch, the long ones the rest. */
    @Test
    void longFactorsTakeOverAtTheirFirstPosition() {
        float[] shortF = {1f, 1.5f, 2f, 3f}, longF = {1f, 4f, 8f, 16f};
        Rope both = new Rope(8, 12, 10000f, 1f, shortF, longF, 5, true, 1.25f);
        Rope shortOnly = new Rope(8, 12, 10000f, 1f, shortF, true, 1.25f);
        Rope longOnly = new Rope(8, 12, 10000f, 1f, longF, true, 1.25f);
        Random rnd = new Random(3);
        for (int p = 0; p < 12; p++) {
            float[] x = new float[8];
            for (int i = 0; i < 8; i++) x[i] = (float) rnd.nextGaussian();
            float[] a = x.clone(), b = x.clone();
            both.apply(a, 0, 1, p);
            (p < 5 ? shortOnly : longOnly).apply(b, 0, 1, p);
            assertThat(a).as("position %d", p).containsExactly(b);
        }
        assertThatThrownBy(() -> new Rope(8, 12, 10000f, 1f, null, longF, 5, true, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("long factors");
    }
}
