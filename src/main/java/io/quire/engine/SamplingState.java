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
    private static final RandomGeneratorFactory<RandomGenerator> FACTORY = RandomGeneratorFactory.of("L64X128MixRandom");

    private final RandomGenerator random;
    private final BitSet seen = new BitSet();
    private final Map<Integer, Integer> outputCounts = new HashMap<>();
    private int numOutputTokens;

    /** @param seed null for an unseeded (random) generator */
    public SamplingState(Long seed, int[] promptIds) {
        this.random = seed == null ? FACTORY.create() : FACTORY.create(seed);
        for (int id : promptIds) seen.set(id);
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
