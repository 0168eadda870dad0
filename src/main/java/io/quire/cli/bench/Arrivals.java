package io.quire.cli.bench;

import java.util.Random;

/**
 * When each request is sent, in seconds from the start of the run. At a finite rate the gaps are
 * exponentially distributed with mean {@code 1/rate} (a Poisson process, as in vLLM's
 * {@code --request-rate}); the first request goes at time zero. An infinite rate sends all at once.
 */
public final class Arrivals {
    private Arrivals() {}

    public static double[] poisson(int count, double rate, long seed) {
        if (count < 0) throw new IllegalArgumentException("request count must be >= 0, got " + count);
        if (!(rate > 0)) throw new IllegalArgumentException("request rate must be > 0 (or inf), got " + rate);
        double[] at = new double[count];
        if (Double.isInfinite(rate)) return at;
        Random rng = new Random(seed);
        for (int i = 1; i < count; i++) {
            // 1 - U lies in (0, 1], so the logarithm is finite.
            at[i] = at[i - 1] - Math.log(1.0 - rng.nextDouble()) / rate;
        }
        return at;
    }
}
