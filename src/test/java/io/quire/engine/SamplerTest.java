package io.quire.engine;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SamplerTest {
    private final Sampler sampler = new Sampler();

    private static SamplingParams params(float temperature, float topP, int topK, float minP) {
        return new SamplingParams(1, temperature, topP, topK, minP, 0f, 0f, 1f, 42L, List.of(), List.of(), false, 16, 0,
                false, Map.of(), null, true);
    }

    private static SamplingParams with(SamplingParams p, float presence, float frequency, float repetition,
                                       int minTokens, Map<Integer, Float> bias, Integer logprobs) {
        return new SamplingParams(p.n(), p.temperature(), p.topP(), p.topK(), p.minP(), presence, frequency, repetition,
                p.seed(), p.stop(), p.stopTokenIds(), p.includeStopStrInOutput(), p.maxTokens(), minTokens,
                p.ignoreEos(), bias, logprobs, p.skipSpecialTokens());
    }

    private int sample(float[] logits, SamplingParams p, SamplingState st) {
        return sampler.sample(logits.clone(), p, st, Set.of(2)).tokenId();
    }

    @Test
    void greedyTakesTheArgmax() {
        SamplingParams p = SamplingParams.greedy(4);
        assertThat(sample(new float[]{0.1f, 3f, -1f, 2.9f}, p, new SamplingState(null, new int[]{0}))).isEqualTo(1);
    }

    @Test
    void logitBiasAndMinTokens() {
        SamplingParams p = with(SamplingParams.greedy(4), 0, 0, 1, 0, Map.of(3, 5f), null);
        assertThat(sample(new float[]{0f, 3f, 0f, 0f}, p, new SamplingState(null, new int[]{0}))).isEqualTo(3);
        // EOS (2) is the argmax but min_tokens=2 suppresses it until two tokens are out.
        SamplingParams m = with(SamplingParams.greedy(4), 0, 0, 1, 2, Map.of(), null);
        SamplingState st = new SamplingState(null, new int[]{0});
        float[] logits = {0f, 1f, 9f, 0f};
        assertThat(sample(logits, m, st)).isEqualTo(1);
        st.addOutput(1);
        assertThat(sample(logits, m, st)).isEqualTo(1);
        st.addOutput(1);
        assertThat(sample(logits, m, st)).isEqualTo(2);
    }

    @Test
    void aRowWithEveryTokenExcludedIsTheCallersErrorNamingMinTokensWhenItHoldsTheRestBack() {
        float ninf = Float.NEGATIVE_INFINITY;
        float[] onlyEos = {ninf, ninf, 4f, ninf};  // a constraint that can only end here; EOS is 2
        for (float temperature : new float[] {0f, 1f}) {
            SamplingParams m = with(params(temperature, 1f, -1, 0f), 0, 0, 1, 3, Map.of(), null);
            SamplingState st = new SamplingState(null, new int[] {0});
            assertThatThrownBy(() -> sample(onlyEos, m, st)).isInstanceOf(InvalidRequestException.class)
                    .satisfies(e -> assertThat(((InvalidRequestException) e).param()).isEqualTo("min_tokens"))
                    .hasMessageContaining("min_tokens 3 cannot be met");
            SamplingParams none = params(temperature, 1f, -1, 0f);
            assertThatThrownBy(() -> sample(new float[] {ninf, ninf, ninf, ninf}, none, st))
                    .isInstanceOf(InvalidRequestException.class)
                    .satisfies(e -> assertThat(((InvalidRequestException) e).param()).isNull());
            // Once min_tokens is met the same row samples EOS.
            for (int i = 0; i < 3; i++) st.addOutput(1);
            assertThat(sample(onlyEos, m, st)).isEqualTo(2);
        }
    }

    @Test
    void penaltiesFollowVllm() {
        SamplingState st = new SamplingState(null, new int[]{0, 1});
        st.addOutput(2);
        st.addOutput(2);
        float[] l = {2f, -2f, 3f, 1f};
        Sampler.applyPenalties(l, with(SamplingParams.greedy(4), 0, 0, 2f, 0, Map.of(), null), st);
        // Repetition over prompt+output: positive divided, negative multiplied; unseen untouched.
        assertThat(l).containsExactly(1f, -4f, 1.5f, 1f);
        float[] f = {2f, -2f, 3f, 1f};
        Sampler.applyPenalties(f, with(SamplingParams.greedy(4), 0.5f, 0.25f, 1f, 0, Map.of(), null), st);
        // Presence and frequency over output only: token 2 occurs twice.
        assertThat(f).containsExactly(2f, -2f, 3f - 0.5f - 0.5f, 1f);
    }

    @Test
    void truncationLeavesOnlyTheTopToken() {
        float[] logits = {1f, 2f, 5f, 0f, 4.9f};
        SamplingState st = new SamplingState(7L, new int[]{0});
        for (int i = 0; i < 50; i++) {
            assertThat(sample(logits, params(1f, 1f, 1, 0f), st)).isEqualTo(2);       // top_k 1
            assertThat(sample(logits, params(1f, 0.01f, -1, 0f), st)).isEqualTo(2);   // top_p tiny
            assertThat(sample(logits, params(1f, 1f, -1, 0.99f), st)).isEqualTo(2);   // min_p near 1
            assertThat(sample(logits, params(1f, 1f, 2, 0f), st)).isIn(2, 4);         // top_k 2
        }
    }

    @Test
    void samplesFollowTheSoftmaxAndTopP() {
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        SamplingState st = new SamplingState(123L, new int[]{0});
        int[] counts = new int[4];
        int n = 20000;
        for (int i = 0; i < n; i++) counts[sample(logits, params(1f, 1f, -1, 0f), st)]++;
        assertThat(counts[0] / (double) n).isCloseTo(0.5, within(0.02));
        assertThat(counts[1] / (double) n).isCloseTo(0.3, within(0.02));
        assertThat(counts[3] / (double) n).isCloseTo(0.05, within(0.01));
        // top_p 0.75 keeps {0.5, 0.3}, renormalised to 0.625 / 0.375.
        int[] c2 = new int[4];
        for (int i = 0; i < n; i++) c2[sample(logits, params(1f, 0.75f, -1, 0f), st)]++;
        assertThat(c2[2] + c2[3]).isZero();
        assertThat(c2[0] / (double) n).isCloseTo(0.625, within(0.02));
        // Temperature 0.5 squares the odds: 0.25 : 0.09 : 0.0225 : 0.0025.
        int[] c3 = new int[4];
        for (int i = 0; i < n; i++) c3[sample(logits, params(0.5f, 1f, -1, 0f), st)]++;
        assertThat(c3[0] / (double) n).isCloseTo(0.25 / 0.365, within(0.02));
    }

    @Test
    void theSameSeedGivesTheSameSamples() {
        float[] logits = new float[50];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) Math.sin(i);
        SamplingState a = new SamplingState(99L, new int[]{0}), b = new SamplingState(99L, new int[]{0});
        for (int i = 0; i < 100; i++) assertThat(sample(logits, params(1f, 0.9f, 20, 0.01f), a))
                .isEqualTo(sample(logits, params(1f, 0.9f, 20, 0.01f), b));
    }

    @Test
    void logprobsAreRawLogSoftmaxWithTopAlternatives() {
        float[] logits = {1f, 3f, 2f, 0f};
        // A bias makes token 3 the sampled one, but logprobs come from the raw logits.
        SamplingParams p = with(SamplingParams.greedy(4), 0, 0, 1, 0, Map.of(3, 10f), 2);
        Sampler.Sample s = sampler.sample(logits.clone(), p, new SamplingState(null, new int[]{0}), Set.of());
        double lse = Math.log(Math.exp(1) + Math.exp(3) + Math.exp(2) + Math.exp(0));
        assertThat(s.tokenId()).isEqualTo(3);
        assertThat(s.logprob().tokenId()).isEqualTo(3);
        assertThat((double) s.logprob().logprob()).isCloseTo(0 - lse, within(1e-5));
        assertThat(s.logprob().top()).extracting(TokenLogprob.Candidate::tokenId).containsExactly(1, 2);
        assertThat((double) s.logprob().top().getFirst().logprob()).isCloseTo(3 - lse, within(1e-5));
        // logprobs=0: the sampled token only.
        Sampler.Sample z = sampler.sample(logits.clone(), with(SamplingParams.greedy(4), 0, 0, 1, 0, Map.of(), 0),
                new SamplingState(null, new int[]{0}), Set.of());
        assertThat(z.logprob().top()).isEmpty();
        assertThat(sampler.sample(logits.clone(), SamplingParams.greedy(4), new SamplingState(null, new int[]{0}),
                Set.of()).logprob()).isNull();
    }

    @Test
    void quickselectPutsTheSmallestFirst() {
        Random rnd = new Random(8);
        for (int round = 0; round < 300; round++) {
            int n = 1 + rnd.nextInt(round < 200 ? 50 : 5000);
            long[] a = new long[n];
            // distinct keys, as the sampler's (the id in the low bits); some sorted, some reversed
            for (int i = 0; i < n; i++) a[i] = ((long) rnd.nextInt(round % 3 == 0 ? 4 : 1 << 20) << 32) | i;
            if (round % 5 == 1) Arrays.sort(a);
            if (round % 5 == 2) for (int i = 0; i < n; i++) a[i] = (long) (n - i) << 32 | i;
            int from = rnd.nextInt(n), count = rnd.nextInt(n - from + 1);
            long[] before = a.clone();
            long[] rest = Arrays.copyOfRange(a, from, n);
            Arrays.sort(rest);
            Sampler.selectSmallest(a, from, n, count);
            long[] head = Arrays.copyOfRange(a, from, from + count);
            Arrays.sort(head);
            assertThat(head).containsExactly(Arrays.copyOf(rest, count));
            assertThat(Arrays.copyOf(a, from)).containsExactly(Arrays.copyOf(before, from));
            long[] all = Arrays.copyOfRange(a, from, n);
            Arrays.sort(all);
            assertThat(all).containsExactly(rest);
        }
    }

    @Test
    void thresholdIsTheSmallestLogitWithTheSameFloatProbability() {
        Random rnd = new Random(3);
        for (int round = 0; round < 2000; round++) {
            float invT = 1f / (0.05f + 2 * rnd.nextFloat());
            float max = (float) rnd.nextGaussian() * 5;
            // near the max the float probability is flat over many logits; far below it underflows
            float kth = max / invT - (float) Math.abs(rnd.nextGaussian()) * (round % 4 == 0 ? 1e-6f : 20f);
            float t = Sampler.threshold(kth, invT, max);
            float target = (float) Math.exp(kth * invT - max);
            assertThat(t).isLessThanOrEqualTo(kth);
            assertThat((float) Math.exp(t * invT - max)).isGreaterThanOrEqualTo(target);
            if (t != Float.NEGATIVE_INFINITY) {
                assertThat((float) Math.exp(Math.nextDown(t) * invT - max)).isLessThan(target);
            }
        }
    }

    @Test
    void theLogitsComeBackUnchanged() {
        float[] logits = {1f, -2f, 3f, 0.5f, -0f, 2f};
        SamplingState st = new SamplingState(5L, new int[]{0, 2});
        st.addOutput(3);
        SamplingParams p = with(params(0.7f, 0.9f, 3, 0.01f), 0.5f, 0.5f, 1.3f, 4, Map.of(1, 3f, 3, -2f), 2);
        float[] copy = logits.clone();
        sampler.sample(logits, p, st, Set.of(2, 5));
        assertThat(Arrays.equals(logits, copy)).isTrue();
        float[] masked = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f};
        float[] maskedCopy = masked.clone();
        SamplingParams m = with(params(1f, 1f, -1, 0f), 0f, 0f, 1f, 1, Map.of(), null);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> sampler.sample(masked, m,
                new SamplingState(1L, new int[]{0}), Set.of(2))).isInstanceOf(InvalidRequestException.class);
        assertThat(Arrays.equals(masked, maskedCopy)).isTrue();
    }
}
