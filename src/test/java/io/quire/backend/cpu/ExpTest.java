package io.quire.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ExpTest {
    @Test
    void withinTwoUlpOfTheTrueValueOverTheFloatsRange() {
        Random random = new Random(37);
        float[] a = new float[100_003];  // not a multiple of the lanes: the scalar tail runs too
        for (int i = 0; i < a.length; i++) a[i] = (float) (random.nextDouble() * 180 - 90);
        float[] x = a.clone();
        Exp.inPlace(a, 0, a.length);
        for (int i = 0; i < a.length; i++) {
            double expected = Math.exp(x[i]);
            if (x[i] < Exp.MIN) {
                assertEquals(0f, a[i], "e^" + x[i]);
            } else if (expected > Float.MAX_VALUE) {
                assertEquals(Float.POSITIVE_INFINITY, a[i], "e^" + x[i]);
            } else {
                double ulps = Math.abs(a[i] - expected) / Math.ulp((float) expected);
                assertTrue(ulps <= 2, "e^" + x[i] + " = " + expected + ", got " + a[i] + " (" + ulps + " ulp)");
            }
        }
    }

    @Test
    void everyLaneGetsWhatOneValueAloneGets() {
        Random random = new Random(7);
        float[] a = new float[1_000];
        for (int i = 0; i < a.length; i++) a[i] = (float) (random.nextGaussian() * 20);
        float[] lanes = a.clone();
        Exp.inPlace(lanes, 0, lanes.length);
        for (int i = 0; i < a.length; i++) {
            assertEquals(Float.floatToIntBits(Exp.exp(a[i])), Float.floatToIntBits(lanes[i]), "e^" + a[i]);
        }
    }

    @Test
    void softmaxsMaskedScoresAndTheEdges() {
        float[] a = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f, 1f, -1f, Exp.MAX,
                88.73f, -86.97f, -87.5f, -1e30f, 1e30f, Float.MIN_VALUE, 0.5f, -0.5f, 0.34657359f};
        float[] e = a.clone();
        Exp.inPlace(e, 0, e.length);
        assertEquals(0f, e[0]);
        assertEquals(Float.POSITIVE_INFINITY, e[1]);
        assertTrue(Float.isNaN(e[2]));
        assertEquals(1f, e[3]);
        assertEquals(1f, e[4]);
        assertEquals((float) Math.E, e[5], Math.ulp((float) Math.E) * 2);
        assertTrue(e[7] > 3.4e38f && e[7] <= Float.MAX_VALUE, "e^MAX = " + e[7]);
        assertEquals(Float.POSITIVE_INFINITY, e[8]);
        assertEquals((float) Math.exp(-86.97f), e[9], Math.ulp((float) Math.exp(-86.97f)) * 2);
        assertEquals(0f, e[10]);
        assertEquals(0f, e[11]);
        assertEquals(Float.POSITIVE_INFINITY, e[12]);
        for (int i = 0; i < a.length; i++) {
            assertEquals(Float.floatToIntBits(Exp.exp(a[i])), Float.floatToIntBits(e[i]), "e^" + a[i]);
        }
    }

    @Test
    void shiftedTakesEachLanesOwnShiftAndSumsEachLane() {
        int lanes = Simd.L, rows = 37;
        Random random = new Random(11);
        float[] a = new float[(rows + 2) * lanes], shift = new float[3 * lanes];
        for (int i = 0; i < a.length; i++) a[i] = (float) (random.nextGaussian() * 30);
        a[lanes + 3] = Float.NEGATIVE_INFINITY;  // a masked score
        for (int r = 0; r < lanes; r++) shift[lanes + r] = (float) (random.nextGaussian() * 10);
        float[] expected = a.clone();
        float[] sums = new float[lanes];
        for (int j = 1; j <= rows; j++) {
            for (int r = 0; r < lanes; r++) {
                int i = j * lanes + r;
                expected[i] = Exp.exp(a[i] - shift[lanes + r]);
                sums[r] += expected[i];
            }
        }
        Exp.shifted(a, lanes, (rows + 1) * lanes, shift, lanes);
        for (int i = 0; i < a.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(a[i]), "value " + i);
        }
        for (int r = 0; r < lanes; r++) assertEquals(sums[r], shift[lanes + r], "lane " + r);
    }
}
