package io.quire.cli;

import io.quire.cli.bench.ShareGptLikeLengths;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.quire.cli.bench.ShareGptLikeLengths.INPUT_MEAN;
import static io.quire.cli.bench.ShareGptLikeLengths.INPUT_SIGMA;
import static io.quire.cli.bench.ShareGptLikeLengths.OUTPUT_MEAN;
import static io.quire.cli.bench.ShareGptLikeLengths.OUTPUT_SIGMA;

/**
 * A seeded synthetic request trace for {@link KvPolicyBench}: prompt and output lengths and
 * arrival times. Lengths are ShareGPT-like (lognormal with the PagedAttention paper's ShareGPT
 * means, 161.31 input and 337.99 output tokens, sigma 1.0 and 0.8, the same shape as
 * {@code bench serve}'s sharegpt-like dataset), multiplied by {@code scale}, with draws rejected
 * when a prompt or output is under 4 tokens, the prompt is over half of {@code maxModelLen} or
 * both exceed it; or uniform in given ranges. Arrivals are all at time 0, or Poisson at a rate.
 */
record KvTrace(String description, List<Item> items) {

    /** One request: its prompt length, output length (generated in full: ignore_eos) and arrival time. */
    record Item(int promptLen, int outputLen, double arrivalSeconds) {}

    static final int MIN_LEN = 4;
    private static final long ARRIVAL_SEED_MIX = 0x9E3779B97F4A7C15L;

    static KvTrace shareGptLike(long seed, int n, double scale, int maxModelLen, double requestRate) {
        if (scale <= 0) throw new IllegalArgumentException("--length-scale must be > 0, got " + scale);
        if (maxModelLen < 4 * MIN_LEN) throw new IllegalArgumentException("max model length must be >= " + 4 * MIN_LEN);
        Random rnd = new Random(seed);
        // its own generator: the lengths do not depend on the rate
        Random arrivals = new Random(seed ^ ARRIVAL_SEED_MIX);
        List<Item> items = new ArrayList<>(n);
        double t = 0;
        for (int i = 0; i < n; i++) {
            int in, out;
            do {
                in = ShareGptLikeLengths.lognormal(rnd, INPUT_MEAN * scale, INPUT_SIGMA);
                out = ShareGptLikeLengths.lognormal(rnd, OUTPUT_MEAN * scale, OUTPUT_SIGMA);
            } while (in < MIN_LEN || out < MIN_LEN || in > maxModelLen / 2 || in + out > maxModelLen);
            t = nextArrival(arrivals, t, requestRate);
            items.add(new Item(in, out, t));
        }
        return new KvTrace(String.format(java.util.Locale.ROOT,
                "sharegpt-like x%.2f (lognormal input mean %.1f sigma 1.0, output mean %.1f sigma 0.8), %s",
                scale, INPUT_MEAN * scale, OUTPUT_MEAN * scale, arrivals(requestRate)), List.copyOf(items));
    }

    static KvTrace uniform(long seed, int n, int inMin, int inMax, int outMin, int outMax, int maxModelLen,
            double requestRate) {
        if (inMin < 1 || outMin < 1 || inMax < inMin || outMax < outMin)
            throw new IllegalArgumentException("bad length ranges");
        if (inMax + outMax > maxModelLen) throw new IllegalArgumentException("input max " + inMax + " + output max "
                + outMax + " exceeds the max model length " + maxModelLen);
        Random rnd = new Random(seed);
        // its own generator: the lengths do not depend on the rate
        Random arrivals = new Random(seed ^ ARRIVAL_SEED_MIX);
        List<Item> items = new ArrayList<>(n);
        double t = 0;
        for (int i = 0; i < n; i++) {
            int in = inMin + rnd.nextInt(inMax - inMin + 1);
            int out = outMin + rnd.nextInt(outMax - outMin + 1);
            t = nextArrival(arrivals, t, requestRate);
            items.add(new Item(in, out, t));
        }
        return new KvTrace("uniform input " + inMin + ".." + inMax + ", output " + outMin + ".." + outMax + ", "
                + arrivals(requestRate), List.copyOf(items));
    }

    private static double nextArrival(Random rnd, double t, double rate) {
        if (Double.isInfinite(rate)) return 0;
        return t - Math.log(1 - rnd.nextDouble()) / rate;
    }

    private static String arrivals(double rate) {
        return Double.isInfinite(rate) ? "all arriving at once" : "Poisson arrivals at " + rate + " req/s";
    }

    int totalOutputTokens() { return items.stream().mapToInt(Item::outputLen).sum(); }

    double meanPromptLen() { return items.stream().mapToInt(Item::promptLen).average().orElse(0); }

    double meanOutputLen() { return items.stream().mapToInt(Item::outputLen).average().orElse(0); }
}
