package io.quire.cli.bench;

import java.util.Random;

/**
 * When each request is sent, in seconds from the start of the run; the first goes at time zero.
 * At a finite rate the gaps are exponentially distributed with mean {@code 1/rate} (a Poisson
 * process, as in vLLM's {@code --request-rate}). vLLM's {@code --burstiness b} draws the gaps
 * from a gamma distribution of shape {@code b} and the same mean instead: {@code b = 1} is
 * Poisson, {@code b < 1} burstier, {@code b > 1} more even. An infinite rate sends all at once.
 */
public final class Arrivals {
    private Arrivals() {}

    public static double[] poisson(int count, double rate, long seed) {
        return gamma(count, rate, 1.0, seed);
    }

    public static double[] gamma(int count, double rate, double burstiness, long seed) {
        if (count < 0) throw new IllegalArgumentException("request count must be >= 0, got " + count);
        if (!(rate > 0)) throw new IllegalArgumentException("request rate must be > 0 (or inf), got " + rate);
        if (!(burstiness > 0) || Double.isInfinite(burstiness)) {
            throw new IllegalArgumentException("burstiness must be > 0, got " + burstiness);
        }
        double[] at = new double[count];
        if (Double.isInfinite(rate)) return at;
        Random rng = new Random(seed);
        double scale = 1.0 / (rate * burstiness);
        for (int i = 1; i < count; i++) {
            double gap = burstiness == 1.0
                    ? -Math.log(1.0 - rng.nextDouble()) / rate  // 1 - U lies in (0, 1]: the logarithm is finite
                    : standardGamma(rng, burstiness) * scale;
            at[i] = at[i - 1] + gap;
        }
        return at;
    }

    /** A Gamma(shape, 1) draw: Marsaglia and Tsang's method, with the usual boost for shape < 1. */
    static double standardGamma(Random rng, double shape) {
        if (shape < 1) {
            double u = 1.0 - rng.nextDouble();
            return standardGamma(rng, shape + 1) * Math.pow(u, 1.0 / shape);
        }
        double d = shape - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = rng.nextGaussian();
            double v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = 1.0 - rng.nextDouble();
            if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
        }
    }
}
