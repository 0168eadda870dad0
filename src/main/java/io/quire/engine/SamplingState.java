package io.quire.engine;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * What the sampler remembers of one sequence: its own random generator (seeded from the
 * request's seed, so a seeded request samples the same tokens whatever else is in the batch),
 * which tokens occur in prompt or output (repetition penalty) and how often each output token
 * occurs (presence and frequency penalties).
 */
public final class SamplingState {
    private static final RandomGeneratorFactory<RandomGenerator> FACTORY =
            RandomGeneratorFactory.of("L64X128MixRandom");

    private final RandomGenerator random;
    private final BitSet seen = new BitSet();
    private final Map<Integer, Integer> outputCounts = new HashMap<>();
    private int numOutputTokens;

    /** @param seed null for an unseeded (random) generator */
    public SamplingState(Long seed, int[] promptIds) {
        this.random = seed == null ? FACTORY.create() : FACTORY.create(seed);
        for (int id : promptIds) seen.set(id);
    }

    /**
     * The state of sequence {@code index} of a request: sequence 0 uses the request's seed itself
     * (so n=1 samples as before), sequence i a seed mixed from it and i, so that every sequence
     * of a seeded request is reproducible on its own.
     */
    public static SamplingState forSequence(Long seed, int index, int[] promptIds) {
        if (seed == null || index == 0) return new SamplingState(seed, promptIds);
        long z = seed + 0x9E3779B97F4A7C15L * index;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return new SamplingState(z ^ (z >>> 31), promptIds);
    }

    private SamplingState(RandomGenerator random) {
        this.random = random;
    }

    /** A copy of the penalty state with a fresh, unseeded generator (beam search forks, which never draw). */
    SamplingState copyForBeam() {
        SamplingState c = new SamplingState(FACTORY.create(0));
        c.seen.or(seen);
        c.outputCounts.putAll(outputCounts);
        c.numOutputTokens = numOutputTokens;
        return c;
    }

    public RandomGenerator random() { return random; }

    public void addOutput(int tokenId) {
        seen.set(tokenId);
        outputCounts.merge(tokenId, 1, Integer::sum);
        numOutputTokens++;
    }

    /** Tokens in prompt or output. */
    public BitSet seen() { return seen; }

    /** Each output token's number of occurrences. */
    public Map<Integer, Integer> outputCounts() { return outputCounts; }

    public int numOutputTokens() { return numOutputTokens; }
}
