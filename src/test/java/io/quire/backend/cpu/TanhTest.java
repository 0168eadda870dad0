package io.quire.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class TanhTest {
    @Test
    void withinAFewUlpOfTheTrueValue() {
        Random random = new Random(41);
        // past one run of the thread's array, not a multiple of the lanes; small and large |y| alike
        float[] a = new float[5_003];
        for (int i = 0; i < a.length; i++) a[i] = (float) (random.nextGaussian() * (i % 2 == 0 ? 0.4 : 8));
        float[] y = a.clone();
        Tanh.cap(a, 0, a.length, 1f, 1f);
        for (int i = 0; i < a.length; i++) {
            double expected = Math.tanh(y[i]);
            double ulps = Math.abs(a[i] - expected) / Math.ulp((float) expected);
            assertTrue(ulps <= 3, "tanh " + y[i] + " = " + expected + ", got " + a[i] + " (" + ulps + " ulp)");
            assertEquals(Float.floatToIntBits(Tanh.tanh(y[i])), Float.floatToIntBits(a[i]), "lane = scalar, tanh " + y[i]);
        }
    }

    @Test
    void capsScaledScoresAsGemmaDoes() {
        Random random = new Random(43);
        float[] a = new float[301];
        for (int i = 0; i < a.length; i++) a[i] = (float) (random.nextGaussian() * 400);
        float[] x = a.clone();
        Tanh.cap(a, 7, 300, 0.125f, 50f);
        for (int i = 0; i < a.length; i++) {
            double expected = i < 7 || i >= 300 ? x[i] : 50 * Math.tanh(x[i] * 0.125 / 50);
            assertEquals(expected, a[i], 1e-5 * 50, "cap of " + x[i]);
        }
    }

    @Test
    void theEdges() {
        float[] a = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f, 0.625f, -0.625f,
                0.62499994f, 44.5f, -44.5f, 1e30f, Float.MIN_VALUE};
        float[] t = a.clone();
        Tanh.cap(t, 0, t.length, 1f, 1f);
        assertEquals(-1f, t[0]);
        assertEquals(1f, t[1]);
        assertTrue(Float.isNaN(t[2]));
        assertEquals(Float.floatToIntBits(0f), Float.floatToIntBits(t[3]));
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(t[4]));
        assertEquals((float) Math.tanh(0.625), t[5], 3 * Math.ulp(t[5]));
        assertEquals(-t[5], t[6]);
        assertEquals((float) Math.tanh(0.62499994), t[7], 3 * Math.ulp(t[7]));
        assertEquals(1f, t[8]);
        assertEquals(-1f, t[9]);
        assertEquals(1f, t[10]);
        assertEquals(Float.MIN_VALUE, t[11]);
    }
}
