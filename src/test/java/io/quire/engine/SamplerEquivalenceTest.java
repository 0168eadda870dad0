package io.quire.engine;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * {@link Sampler} draws exactly what the full-sort sampler it replaced ({@link FullSortSampler})
 * draws: the same tokens and bit-identical logprobs for the same seeds, over random logits of many
 * shapes (ties, float-probability ties between distinct logits, underflow, masked tokens) and
 * random parameters, several steps per case so that penalties and generators move on. A sampler
 * with widened summation bounds runs too: its bound checks fail often, so the exact fallbacks behind
 * them are exercised and must agree as well.
 */
class SamplerEquivalenceTest {

    @Test
    void vocabulary512() {
        compare(512, 4000, 3, 1, 1);
    }

    @Test
    void vocabulary150k() {
        compare(150_000, 150, 2, 1, 2);
    }

    @Test
    void exactFallbacks() {
        compare(512, 1500, 2, 1e12, 3);
        compare(150_000, 60, 2, 1e9, 4);
    }

    private static void compare(int vocab, int cases, int steps, double boundSlack, long seed) {
        Random rnd = new Random(seed);
        Sampler sampler = new Sampler(boundSlack);
        FullSortSampler reference = new FullSortSampler();
        int drawn = 0;
        for (int c = 0; c < cases; c++) {
            float[] logits = logits(rnd, vocab);
            SamplingParams p = params(rnd, vocab);
            int[] prompt = new int[1 + rnd.nextInt(40)];
            for (int i = 0; i < prompt.length; i++) prompt[i] = rnd.nextInt(vocab);
            Set<Integer> suppress = new HashSet<>(List.of(rnd.nextInt(vocab), rnd.nextInt(vocab)));
            SamplingState a = new SamplingState(p.seed(), prompt), b = new SamplingState(p.seed(), prompt);
            for (int step = 0; step < steps; step++) {
                String what = "case " + c + " step " + step + " vocab " + vocab + " " + p;
                float[] old = logits.clone(), now = logits.clone();
                Sampler.Sample want = null, got = null;
                RuntimeException oldError = null, newError = null;
                try {
                    want = reference.sample(old, p, a, suppress);
                } catch (RuntimeException e) {
                    oldError = e;
                }
                try {
                    got = sampler.sample(now, p, b, suppress);
                } catch (RuntimeException e) {
                    newError = e;
                }
                if (!Arrays.equals(now, logits)) fail("logits not restored: " + what);
                if (oldError != null || newError != null) {
                    assertThat(newError).as(what).isNotNull();
                    assertThat(oldError).as(what).isNotNull();
                    assertThat(newError.getClass()).as(what).isEqualTo(oldError.getClass());
                    break;
                }
                if (!want.equals(got)) fail(what + "\nwant " + want + "\ngot  " + got);
                drawn++;
                a.addOutput(want.tokenId());
                b.addOutput(got.tokenId());
                if (rnd.nextBoolean()) logits = logits(rnd, vocab);
            }
        }
        assertThat(drawn).isGreaterThan(cases);
    }

    /** Logits of one of several shapes. */
    static float[] logits(Random rnd, int vocab) {
        float[] x = new float[vocab];
        int shape = rnd.nextInt(8);
        float sigma = new float[] {0.3f, 1f, 2.5f, 4f, 8f}[rnd.nextInt(5)];
        for (int i = 0; i < vocab; i++) {
            x[i] = switch (shape) {
                // ties: few distinct values
                case 1 -> Math.round(rnd.nextGaussian() * 4) / 4f;
                // many logits close to each other and to the max: equal float probabilities
                case 2 -> 3f + (float) rnd.nextGaussian() * 1e-6f;
                // huge spread: probabilities that underflow
                case 3 -> (float) rnd.nextGaussian() * 300;
                // nearly constant
                case 4 -> rnd.nextInt(50) == 0 ? 1f : 0f;
                default -> (float) rnd.nextGaussian() * sigma;
            };
        }
        // a model's shape: a few tokens well above the rest
        if (shape == 0 || shape == 5) {
            for (int j = rnd.nextInt(30); j > 0; j--) x[rnd.nextInt(vocab)] += 5 + 20 * rnd.nextFloat();
        }
        if (shape == 2) {
            for (int j = rnd.nextInt(3000); j > 0; j--) x[rnd.nextInt(vocab)] = 3f + rnd.nextInt(3) * 1e-7f;
        }
        if (rnd.nextInt(4) == 0) {
            for (int j = rnd.nextInt(vocab); j > 0; j--) x[rnd.nextInt(vocab)] = Float.NEGATIVE_INFINITY;
        }
        if (rnd.nextInt(200) == 0) Arrays.fill(x, Float.NEGATIVE_INFINITY);
        return x;
    }

    static SamplingParams params(Random rnd, int vocab) {
        float temperature = rnd.nextInt(8) == 0 ? (rnd.nextBoolean() ? 0f : 1e-6f)
                : new float[] {0.05f, 0.3f, 0.7f, 0.8f, 1f, 1f, 1.3f, 2f, 10f}[rnd.nextInt(9)];
        float topP = new float[] {1f, 1f, 1f, 0.95f, 0.9f, 0.99f, 0.5f, 0.1f, 1e-3f, 0.9999999f}[rnd.nextInt(10)];
        int topK = new int[] {-1, -1, 0, 1, 2, 5, 40, 50, 300, Sampler.SMALL_TOP_K, Sampler.SMALL_TOP_K + 1, 5000,
                vocab / 2, vocab - 1, vocab, vocab + 10}[rnd.nextInt(16)];
        float minP = new float[] {0f, 0f, 0f, 1e-4f, 0.01f, 0.05f, 0.3f, 1f}[rnd.nextInt(8)];
        float presence = rnd.nextInt(3) == 0 ? rnd.nextFloat() * 4 - 2 : 0f;
        float frequency = rnd.nextInt(3) == 0 ? rnd.nextFloat() * 4 - 2 : 0f;
        float repetition = new float[] {1f, 1f, 1.2f, 0.8f, 2f}[rnd.nextInt(5)];
        Map<Integer, Float> bias = new HashMap<>();
        if (rnd.nextInt(3) == 0) {
            for (int j = rnd.nextInt(5); j >= 0; j--) bias.put(rnd.nextInt(vocab), rnd.nextFloat() * 200 - 100);
        }
        int minTokens = rnd.nextInt(4) == 0 ? 2 : 0;
        Integer logprobs = rnd.nextBoolean() ? null : new int[] {0, 1, 5, 20}[rnd.nextInt(4)];
        return new SamplingParams(1, temperature, topP, topK, minP, presence, frequency, repetition,
                rnd.nextLong(), List.of(), List.of(), false, 16, minTokens, false, bias, logprobs, true);
    }
}
