package io.quire.cli.bench;

import java.util.Random;

/**
 * A synthetic stand-in for the ShareGPT conversations vLLM benchmarks with, so that no dataset
 * has to be downloaded. Lengths are lognormal (heavy right tail, like real chat traffic) with
 * the means the PagedAttention paper reports for ShareGPT (Fig. 11: 161.31 input and 337.99
 * output tokens on average) and shape parameters chosen by us to give a similar spread:
 * {@code sigma = 1.0} for inputs (median about 98 tokens) and {@code sigma = 0.8} for outputs
 * (median about 245). As vLLM's ShareGPT sampler does, draws are rejected, not clamped, when a
 * prompt or output is shorter than 4 tokens, the prompt is longer than half of
 * {@code maxModelLen}, or both together exceed {@code maxModelLen} (vLLM: 1024 and 2048, our
 * default). The means quoted are before that truncation. {@code fixedOutput > 0} replaces the
 * output draw, as vLLM's {@code --sharegpt-output-len} does.
 */
public record ShareGptLikeLengths(double inputMean, double inputSigma, double outputMean, double outputSigma,
                                  int maxModelLen, int fixedOutput) implements LengthDistribution {
    public static final double INPUT_MEAN = 161.31;
    public static final double INPUT_SIGMA = 1.0;
    public static final double OUTPUT_MEAN = 337.99;
    public static final double OUTPUT_SIGMA = 0.8;
    static final int MIN_LEN = 4;

    public static ShareGptLikeLengths standard(int maxModelLen, int fixedOutput) {
        return new ShareGptLikeLengths(INPUT_MEAN, INPUT_SIGMA, OUTPUT_MEAN, OUTPUT_SIGMA, maxModelLen, fixedOutput);
    }

    public ShareGptLikeLengths {
        if (!(inputMean > 0 && outputMean > 0 && inputSigma >= 0 && outputSigma >= 0)) {
            throw new IllegalArgumentException("lognormal means must be > 0 and sigmas >= 0");
        }
        if (maxModelLen < 4 * MIN_LEN) {
            throw new IllegalArgumentException("max model length must be >= " + 4 * MIN_LEN + ", got " + maxModelLen);
        }
        if (fixedOutput < 0 || fixedOutput > maxModelLen - MIN_LEN) {
            throw new IllegalArgumentException("output length must be within [0, " + (maxModelLen - MIN_LEN)
                    + "] for max model length " + maxModelLen + ", got " + fixedOutput);
        }
    }

    public int maxInput() {
        return maxModelLen / 2;
    }

    @Override
    public Lengths sample(Random rng) {
        while (true) {
            int in = lognormal(rng, inputMean, inputSigma);
            int out = fixedOutput > 0 ? fixedOutput : lognormal(rng, outputMean, outputSigma);
            if (in >= MIN_LEN && out >= MIN_LEN && in <= maxInput() && in + out <= maxModelLen) {
                return new Lengths(in, out);
            }
        }
    }

    /** A lognormal draw with the given mean: {@code mu = ln(mean) - sigma^2 / 2}. */
    public static int lognormal(Random rng, double mean, double sigma) {
        double mu = Math.log(mean) - sigma * sigma / 2;
        return (int) Math.round(Math.exp(mu + sigma * rng.nextGaussian()));
    }

    @Override
    public String describe() {
        return "sharegpt-like lognormal input mean " + inputMean + " sigma " + inputSigma + ", output "
                + (fixedOutput > 0 ? "fixed " + fixedOutput : "mean " + outputMean + " sigma " + outputSigma)
                + ", max model len " + maxModelLen;
    }
}
