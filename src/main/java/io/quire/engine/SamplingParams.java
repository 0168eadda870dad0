package io.quire.engine;

import io.quire.engine.structured.ConstraintSpec;
import io.quire.model.GenerationDefaults;

import java.util.List;
import java.util.Map;

/**
 * How to sample one request, with vLLM's {@code SamplingParams} semantics. {@code null} in a
 * nullable field means "not set". {@link RequestValidator} enforces vLLM's ranges.
 *
 * @param n                  sequences to return for the prompt
 * @param temperature        0 means greedy
 * @param topK               -1 (or 0) disables
 * @param seed               per-request seed: the request draws from its own generator, so what else
 *                           runs does not change its random numbers; the logits it draws from may
 *                           differ in their last bits with the batch it runs in (a different summation
 *                           order), which now and then moves a draw that sits on a boundary, as in vLLM
 * @param maxTokens          the output limit the client asked for (its {@code max_tokens}, the HTTP
 *                           layer applying its endpoint's default); null: up to the context length.
 *                           The limit a sequence runs to is resolved from it once, by
 *                           {@link RequestValidator#validate} ({@link Sequence#maxOutputTokens})
 * @param logprobs           null: none; k: the sampled token's logprob and the top k
 * @param logitBias          token id to bias added to its logit
 * @param bestOf             sequences to generate, of which the {@code n} with the highest cumulative
 *                           logprob are returned (vLLM V0); null means {@code n}. With beam search: the
 *                           beam width
 * @param useBeamSearch      beam search (vLLM's {@code BeamSearchParams}) instead of sampling
 * @param lengthPenalty      beam search scores are {@code cum_logprob / len^lengthPenalty}
 * @param constraint         what the output must match (structured output); null: anything. The
 *                           engine compiles it before queuing the request
 * @param allowedTokenIds    the only tokens that may be sampled (vLLM's {@code allowed_token_ids}); null: any
 * @param badWordsTokenIds   token sequences the output may not contain (vLLM's {@code bad_words}, tokenized
 *                           by the HTTP layer): a sequence's last token is banned wherever the output
 *                           ends with the rest of it; null: none
 * @param promptLogprobs     null: none; k: each prompt token's logprob (after the first), its rank and the
 *                           top k at its position (vLLM's {@code prompt_logprobs})
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
        boolean skipSpecialTokens,
        Integer bestOf,
        boolean useBeamSearch,
        float lengthPenalty,
        ConstraintSpec constraint,
        List<Integer> allowedTokenIds,
        List<List<Integer>> badWordsTokenIds,
        Integer promptLogprobs) {

    /** Without a vocabulary restriction (the fields before it). */
    public SamplingParams(int n, float temperature, float topP, int topK, float minP, float presencePenalty,
                          float frequencyPenalty, float repetitionPenalty, Long seed, List<String> stop,
                          List<Integer> stopTokenIds, boolean includeStopStrInOutput, Integer maxTokens, int minTokens,
                          boolean ignoreEos, Map<Integer, Float> logitBias, Integer logprobs,
                          boolean skipSpecialTokens, Integer bestOf, boolean useBeamSearch, float lengthPenalty,
                          ConstraintSpec constraint) {
        this(n, temperature, topP, topK, minP, presencePenalty, frequencyPenalty, repetitionPenalty, seed, stop,
                stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos, logitBias, logprobs,
                skipSpecialTokens, bestOf, useBeamSearch, lengthPenalty, constraint, null, null, null);
    }

    /** Without a constraint (the fields before it). */
    public SamplingParams(int n, float temperature, float topP, int topK, float minP, float presencePenalty,
                          float frequencyPenalty, float repetitionPenalty, Long seed, List<String> stop,
                          List<Integer> stopTokenIds, boolean includeStopStrInOutput, Integer maxTokens, int minTokens,
                          boolean ignoreEos, Map<Integer, Float> logitBias, Integer logprobs,
                          boolean skipSpecialTokens, Integer bestOf, boolean useBeamSearch, float lengthPenalty) {
        this(n, temperature, topP, topK, minP, presencePenalty, frequencyPenalty, repetitionPenalty, seed, stop,
                stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos, logitBias, logprobs,
                skipSpecialTokens, bestOf, useBeamSearch, lengthPenalty, null);
    }

    /** One sequence, no beam search (the fields before best_of). */
    public SamplingParams(int n, float temperature, float topP, int topK, float minP, float presencePenalty,
                          float frequencyPenalty, float repetitionPenalty, Long seed, List<String> stop,
                          List<Integer> stopTokenIds, boolean includeStopStrInOutput, Integer maxTokens, int minTokens,
                          boolean ignoreEos, Map<Integer, Float> logitBias, Integer logprobs,
                          boolean skipSpecialTokens) {
        this(n, temperature, topP, topK, minP, presencePenalty, frequencyPenalty, repetitionPenalty, seed, stop,
                stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos, logitBias, logprobs,
                skipSpecialTokens, null, false, 1f);
    }

    /** Defaults as in vLLM (temperature 1, no truncation, no penalties), at most {@code maxTokens}. */
    public static SamplingParams defaults(Integer maxTokens) {
        return new SamplingParams(1, 1f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(), false,
                maxTokens, 0, false, Map.of(), null, true);
    }

    /** {@link #defaults(Integer)} with the model's recommended values ({@code generation_config.json}) where given. */
    public static SamplingParams defaults(Integer maxTokens, GenerationDefaults g) {
        SamplingParams d = defaults(maxTokens);
        return new SamplingParams(d.n, g.temperature() != null ? g.temperature() : d.temperature,
                g.topP() != null ? g.topP() : d.topP, g.topK() != null ? g.topK() : d.topK,
                g.minP() != null ? g.minP() : d.minP, d.presencePenalty, d.frequencyPenalty,
                g.repetitionPenalty() != null ? g.repetitionPenalty() : d.repetitionPenalty, d.seed, d.stop,
                d.stopTokenIds, d.includeStopStrInOutput, d.maxTokens, d.minTokens, d.ignoreEos, d.logitBias,
                d.logprobs, d.skipSpecialTokens, d.bestOf, d.useBeamSearch, d.lengthPenalty, d.constraint,
                d.allowedTokenIds, d.badWordsTokenIds, d.promptLogprobs);
    }

    /** Greedy decoding of at most {@code maxTokens} tokens. */
    public static SamplingParams greedy(int maxTokens) {
        return defaults(maxTokens).withTemperature(0f);
    }

    public SamplingParams withTemperature(float t) {
        return new SamplingParams(n, t, topP, topK, minP, presencePenalty, frequencyPenalty, repetitionPenalty, seed,
                stop, stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos, logitBias, logprobs,
                skipSpecialTokens, bestOf, useBeamSearch, lengthPenalty, constraint, allowedTokenIds,
                badWordsTokenIds, promptLogprobs);
    }

    public SamplingParams withSeed(Long s) {
        return new SamplingParams(n, temperature, topP, topK, minP, presencePenalty, frequencyPenalty,
                repetitionPenalty, s, stop, stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos,
                logitBias, logprobs, skipSpecialTokens, bestOf, useBeamSearch, lengthPenalty, constraint,
                allowedTokenIds, badWordsTokenIds, promptLogprobs);
    }

    /** {@code n} returned sequences out of {@code bestOf} generated ones (null: n). */
    public SamplingParams withN(int newN, Integer newBestOf) {
        return new SamplingParams(newN, temperature, topP, topK, minP, presencePenalty, frequencyPenalty,
                repetitionPenalty, seed, stop, stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos,
                logitBias, logprobs, skipSpecialTokens, newBestOf, useBeamSearch, lengthPenalty, constraint,
                allowedTokenIds, badWordsTokenIds, promptLogprobs);
    }

    public SamplingParams withIgnoreEos(boolean ignore) {
        return new SamplingParams(n, temperature, topP, topK, minP, presencePenalty, frequencyPenalty,
                repetitionPenalty, seed, stop, stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignore,
                logitBias, logprobs, skipSpecialTokens, bestOf, useBeamSearch, lengthPenalty, constraint,
                allowedTokenIds, badWordsTokenIds, promptLogprobs);
    }

    public SamplingParams withSkipSpecialTokens(boolean skip) {
        return new SamplingParams(n, temperature, topP, topK, minP, presencePenalty, frequencyPenalty,
                repetitionPenalty, seed, stop, stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos,
                logitBias, logprobs, skip, bestOf, useBeamSearch, lengthPenalty, constraint,
                allowedTokenIds, badWordsTokenIds, promptLogprobs);
    }

    /** Beam search of width {@code bestOf} (or n), returning the best {@code n} beams. */
    public SamplingParams withBeamSearch(float newLengthPenalty) {
        return new SamplingParams(n, 0f, topP, topK, minP, presencePenalty, frequencyPenalty, repetitionPenalty, seed,
                stop, stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos, logitBias, logprobs,
                skipSpecialTokens, bestOf, true, newLengthPenalty, constraint, allowedTokenIds,
                badWordsTokenIds, promptLogprobs);
    }

    /** The same parameters with the output held to {@code c} (null: none). */
    public SamplingParams withConstraint(ConstraintSpec c) {
        return new SamplingParams(n, temperature, topP, topK, minP, presencePenalty, frequencyPenalty,
                repetitionPenalty, seed, stop, stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos,
                logitBias, logprobs, skipSpecialTokens, bestOf, useBeamSearch, lengthPenalty, c,
                allowedTokenIds, badWordsTokenIds, promptLogprobs);
    }

    /** The same parameters with sampling restricted to {@code ids} (vLLM's allowed_token_ids; null: any token). */
    public SamplingParams withAllowedTokenIds(List<Integer> ids) {
        return new SamplingParams(n, temperature, topP, topK, minP, presencePenalty, frequencyPenalty,
                repetitionPenalty, seed, stop, stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos,
                logitBias, logprobs, skipSpecialTokens, bestOf, useBeamSearch, lengthPenalty, constraint, ids,
                badWordsTokenIds, promptLogprobs);
    }

    /** The same parameters with these token sequences kept out of the output (vLLM's bad_words, tokenized). */
    public SamplingParams withBadWordsTokenIds(List<List<Integer>> words) {
        return new SamplingParams(n, temperature, topP, topK, minP, presencePenalty, frequencyPenalty,
                repetitionPenalty, seed, stop, stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos,
                logitBias, logprobs, skipSpecialTokens, bestOf, useBeamSearch, lengthPenalty, constraint,
                allowedTokenIds, words, promptLogprobs);
    }

    /** The same parameters asking for each prompt token's logprob and the top k at its position (null: none). */
    public SamplingParams withPromptLogprobs(Integer k) {
        return new SamplingParams(n, temperature, topP, topK, minP, presencePenalty, frequencyPenalty,
                repetitionPenalty, seed, stop, stopTokenIds, includeStopStrInOutput, maxTokens, minTokens, ignoreEos,
                logitBias, logprobs, skipSpecialTokens, bestOf, useBeamSearch, lengthPenalty, constraint,
                allowedTokenIds, badWordsTokenIds, k);
    }

    public boolean greedy() { return temperature == 0f; }

    /** Sequences generated for the prompt: best_of, or n. With beam search, the beam width. */
    public int width() { return bestOf != null ? bestOf : n; }
}
