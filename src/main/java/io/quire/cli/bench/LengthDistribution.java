package io.quire.cli.bench;

import java.util.Random;

/** Where the prompt and output lengths of a synthetic workload come from. */
public interface LengthDistribution {
    Lengths sample(Random rng);

    /** A one-line description for the report. */
    String describe();
}
