package io.quire.engine;

import java.util.List;

/**
 * The log-probability of a sampled token and, when asked for, the most likely alternatives
 * (from the distribution before sampling parameters other than logit processors are applied).
 */
public record TokenLogprob(int tokenId, float logprob, List<Candidate> top) {
    public record Candidate(int tokenId, float logprob) {}
}
