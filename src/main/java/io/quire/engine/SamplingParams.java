package io.quire.engine;

import java.util.List;
import java.util.Map;

/**
 * How to sample one request, with vLLM's {@code SamplingParams} semantics. {@code null} in a
 * nullable field means "not set". {@link #validate()} enforces vLLM's ranges.
 *
 * @param n                  sequences to return for the prompt
 * @param temperature        0 means greedy
 * @param topK               -1 (or 0) disables
 * @param seed               per-request seed: the same seed gives the same output whatever else runs
 * @param maxTokens          null: up to the model's context length
 * @param logprobs           null: none; k: the sampled token's logprob and the top k
 * @param logitBias          token id to bias added to its logit
 */
public record SamplingParams(
        int n,
        float temperature,
        float topP,
        int topK,
        float minP,
        float presencePenalty,
        float frequencyPenalty,
        float repetitionPenalty,
        Long seed,
        List<String> stop,
        List<Integer> stopTokenIds,
        boolean includeStopStrInOutput,
        Integer maxTokens,
        int minTokens,
        boolean ignoreEos,
        Map<Integer, Float> logitBias,
        Integer logprobs,
        boolean skipSpecialTokens) {

    /** Defaults as in vLLM (temperature 1, no truncation, no penalties), at most {@code maxTokens}. */
    public static SamplingParams defaults(Integer maxTokens) {
        return new SamplingParams(1, 1f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(), false,
                maxTokens, 0, false, Map.of(), null, true);
    }

    /** Greedy decoding of at most {@code maxTokens} tokens. */
    public static SamplingParams greedy(int maxTokens) {
        return defaults(maxTokens).withTemperature(0f);
    }

    public SamplingParams withTemperature(float t) {
        return new SamplingParams(n, t, topP, topK, minP, presencePenalty, frequencyPenalty, repetitionPenalty, seed, stop,
                stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos, logitBias, logprobs, skipSpecialTokens);
    }

    public boolean greedy() { return temperature == 0f; }
}
