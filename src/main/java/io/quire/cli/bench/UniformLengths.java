package io.quire.cli.bench;

import java.util.Random;

/**
 * vLLM's random dataset: lengths uniform over the integers in
 * {@code [floor(len*(1-r)), floor(len*(1+r))]}, at least one token. {@code r = 0} gives fixed lengths.
 */
public record UniformLengths(int inputLen, int outputLen, double rangeRatio) implements LengthDistribution {
    public UniformLengths {
        if (inputLen < 1) throw new IllegalArgumentException("input length must be >= 1, got " + inputLen);
        if (outputLen < 1) throw new IllegalArgumentException("output length must be >= 1, got " + outputLen);
        if (!(rangeRatio >= 0 && rangeRatio < 1)) {
            throw new IllegalArgumentException("range ratio must be within [0, 1), got " + rangeRatio);
        }
    }

    @Override
    public Lengths sample(Random rng) {
        return new Lengths(draw(inputLen, rng), draw(outputLen, rng));
    }

    private int draw(int len, Random rng) {
        int lo = Math.max(1, (int) Math.floor(len * (1 - rangeRatio)));
        int hi = Math.max(lo, (int) Math.floor(len * (1 + rangeRatio)));
        return lo == hi ? lo : lo + rng.nextInt(hi - lo + 1);
    }

    @Override
    public String describe() {
        return rangeRatio == 0 ? "fixed input " + inputLen + ", output " + outputLen
                : "uniform input " + inputLen + ", output " + outputLen + " +/- " + (rangeRatio * 100) + "%";
    }
}
