package io.quire.engine;

import io.quire.kv.KvAllocationPolicy;
import io.quire.kv.KvCacheManager;

import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * Checks a request before it is queued, with vLLM's ranges and wording, so that bad input becomes
 * a clear {@link InvalidRequestException} (an OpenAI 400) instead of a failure inside a step. It
 * also resolves, once, the output limit a sequence runs to ({@link Sequence#maxOutputTokens}).
 */
public final class RequestValidator {
    /** Most logprobs alternatives a request may ask for (vLLM's default max_logprobs). */
    public static final int MAX_LOGPROBS = 20;
    /** Most sequences (n, best_of, beam width) one request may ask for. */
    public static final int MAX_SEQUENCES = 64;

    private RequestValidator() {}

    /**
     * Validates and returns the output limit the request gets: {@code max_tokens}, or whatever the
     * context leaves after the prompt when it is null.
     */
    public static int validate(int[] promptIds, SamplingParams p, int vocabSize, int maxModelLen) {
        validateParams(p, vocabSize);
        if (promptIds == null || promptIds.length == 0) {
            throw new InvalidRequestException(null, "The prompt cannot be empty.");
        }
        for (int id : promptIds) {
            if (id < 0 || id >= vocabSize) {
                throw new InvalidRequestException(null, "Token id " + id + " is out of vocabulary (vocabulary size "
                        + vocabSize + ").");
            }
        }
        int promptLen = promptIds.length;
        if (p.maxTokens() == null) {
            if (promptLen >= maxModelLen) {
                throw new InvalidRequestException("messages", "This model's maximum context length is " + maxModelLen
                        + " tokens. However, you requested " + promptLen + " tokens in the messages, Please reduce"
                        + " the length of the messages.");
            }
            return maxModelLen - promptLen;
        }
        int maxTokens = p.maxTokens();
        if ((long) promptLen + maxTokens > maxModelLen) {
            throw new InvalidRequestException(promptLen >= maxModelLen ? "messages" : "max_tokens",
                    "This model's maximum context length is " + maxModelLen + " tokens. However, you requested "
                            + ((long) promptLen + maxTokens) + " tokens (" + promptLen + " in the messages, "
                            + maxTokens + " in the completion). Please reduce the length of the messages or"
                            + " completion.");
        }
        return maxTokens;
    }

    /**
     * A request of several sequences ({@code n}/{@code best_of} > 1, beam search) must fit one
     * step's batch and, at worst without sharing its outputs, the KV cache.
     *
     * @param maxOutputTokens the limit {@link #validate} resolved
     */
    public static void validateSequences(int promptLen, int maxOutputTokens, SamplingParams p, int maxNumSeqs,
                                         KvCacheManager kv) {
        validateSequences(promptLen, maxOutputTokens, p, maxNumSeqs, kv, KvAllocationPolicy.PAGED, Integer.MAX_VALUE);
    }

    /**
     * As above, under an allocation policy that reserves ahead (the Orca baselines): there each sequence
     * holds its own reservation, and after a preemption the request comes back needing all of them at
     * once, so the cache must hold {@code width} reservations (else the engine could never run it).
     */
    public static void validateSequences(int promptLen, int maxOutputTokens, SamplingParams p, int maxNumSeqs,
                                         KvCacheManager kv, KvAllocationPolicy policy, int maxModelLen) {
        int width = p.width();
        String field = p.bestOf() != null ? "best_of" : "n";
        if (policy.reservesAhead()) {
            int reserved = Math.max(policy.reservedTokens(promptLen, maxOutputTokens, maxModelLen), promptLen + 1);
            long need = (long) width * kv.blocksFor(reserved);
            if (need > kv.numTotalBlocks()) {
                throw new InvalidRequestException(width > 1 ? field : "max_tokens", width + " sequence"
                        + (width > 1 ? "s" : "") + " reserving " + reserved + " tokens each under the " + policy
                        + " allocation policy need " + need + " KV blocks, more than the cache's "
                        + kv.numTotalBlocks() + (width > 1 ? "; lower " + field + "." : "."));
            }
        }
        if (width <= 1) return;
        if (width > maxNumSeqs) {
            throw new InvalidRequestException(field, (p.useBeamSearch() ? "The beam width " : field + " ") + width
                    + " is more than the engine's maximum number of sequences per step (" + maxNumSeqs + ").");
        }
        long need = kv.blocksFor(promptLen) + (long) width * (kv.blocksFor(maxOutputTokens) + 1);
        if (need > kv.numTotalBlocks()) {
            throw new InvalidRequestException(field, width + " sequences of up to " + maxOutputTokens
                    + " tokens after a " + promptLen + "-token prompt may need " + need + " KV blocks, more than the"
                    + " cache's " + kv.numTotalBlocks() + "; lower max_tokens or " + field + ".");
        }
    }

    /** The checks that need no prompt: value ranges, stop strings, token ids against the vocabulary. */
    public static void validateParams(SamplingParams p, int vocabSize) {
        if (p.n() < 1) throw new InvalidRequestException("n", "n must be at least 1, got " + p.n() + ".");
        if (p.bestOf() != null && p.bestOf() < p.n()) {
            throw new InvalidRequestException("best_of", "best_of must be greater than or equal to n, got n=" + p.n()
                    + " and best_of=" + p.bestOf() + ".");
        }
        if (p.width() > MAX_SEQUENCES) {
            throw new InvalidRequestException(p.bestOf() != null ? "best_of" : "n", "At most " + MAX_SEQUENCES
                    + " sequences per request, got " + p.width() + ".");
        }
        if (p.useBeamSearch() && !Float.isFinite(p.lengthPenalty())) {
            throw new InvalidRequestException("length_penalty", "length_penalty must be a finite number, got "
                    + p.lengthPenalty() + ".");
        }
        if (!(p.temperature() >= 0f) || Float.isInfinite(p.temperature())) {
            throw new InvalidRequestException("temperature", "temperature must be non-negative, got "
                    + p.temperature() + ".");
        }
        if (!(p.topP() > 0f && p.topP() <= 1f)) {
            throw new InvalidRequestException("top_p", "top_p must be in (0, 1], got " + p.topP() + ".");
        }
        if (p.topK() < -1) {
            throw new InvalidRequestException("top_k", "top_k must be 0 or -1 (disable), or at least 1, got "
                    + p.topK() + ".");
        }
        if (!(p.minP() >= 0f && p.minP() <= 1f)) {
            throw new InvalidRequestException("min_p", "min_p must be in [0, 1], got " + p.minP() + ".");
        }
        if (!(p.presencePenalty() >= -2f && p.presencePenalty() <= 2f)) {
            throw new InvalidRequestException("presence_penalty", "presence_penalty must be in [-2, 2], got "
                    + p.presencePenalty() + ".");
        }
        if (!(p.frequencyPenalty() >= -2f && p.frequencyPenalty() <= 2f)) {
            throw new InvalidRequestException("frequency_penalty", "frequency_penalty must be in [-2, 2], got "
                    + p.frequencyPenalty() + ".");
        }
        if (!(p.repetitionPenalty() > 0f) || Float.isInfinite(p.repetitionPenalty())) {
            throw new InvalidRequestException("repetition_penalty", "repetition_penalty must be greater than zero,"
                    + " got " + p.repetitionPenalty() + ".");
        }
        if (p.maxTokens() != null && p.maxTokens() < 1) {
            throw new InvalidRequestException("max_tokens", "max_tokens must be at least 1, got " + p.maxTokens()
                    + ".");
        }
        if (p.minTokens() < 0) {
            throw new InvalidRequestException("min_tokens", "min_tokens must be greater than or equal to 0, got "
                    + p.minTokens() + ".");
        }
        if (p.maxTokens() != null && p.minTokens() > p.maxTokens()) {
            throw new InvalidRequestException("min_tokens", "min_tokens must be less than or equal to max_tokens="
                    + p.maxTokens() + ", got " + p.minTokens() + ".");
        }
        if (p.promptLogprobs() != null && (p.promptLogprobs() < 0 || p.promptLogprobs() > MAX_LOGPROBS)) {
            throw new InvalidRequestException("prompt_logprobs", "prompt_logprobs must be in [0, " + MAX_LOGPROBS
                    + "], got " + p.promptLogprobs() + ".");
        }
        if (p.logprobs() != null && (p.logprobs() < 0 || p.logprobs() > MAX_LOGPROBS)) {
            throw new InvalidRequestException("logprobs", "logprobs must be in [0, " + MAX_LOGPROBS + "], got "
                    + p.logprobs() + ".");
        }
        List<String> stop = p.stop() == null ? List.of() : p.stop();
        for (String s : stop) {
            if (s == null || s.isEmpty()) {
                throw new InvalidRequestException("stop", "stop cannot contain an empty string.");
            }
        }
        List<Integer> stopIds = p.stopTokenIds() == null ? List.of() : p.stopTokenIds();
        for (Integer id : stopIds) {
            if (id == null || id < 0 || id >= vocabSize) {
                throw new InvalidRequestException("stop_token_ids", "stop_token_ids contains out-of-vocab token id "
                        + id + " (vocabulary size " + vocabSize + ").");
            }
        }
        if (p.minTokens() > 0 && stopIds.size() >= vocabSize && new HashSet<>(stopIds).size() == vocabSize) {
            throw new InvalidRequestException("min_tokens", "min_tokens " + p.minTokens() + " cannot be met:"
                    + " stop_token_ids lists every token of the vocabulary, and min_tokens holds them all back.");
        }
        if (p.allowedTokenIds() != null) {
            if (p.allowedTokenIds().isEmpty()) {
                throw new InvalidRequestException("allowed_token_ids", "allowed_token_ids cannot be empty.");
            }
            for (Integer id : p.allowedTokenIds()) {
                if (id == null || id < 0 || id >= vocabSize) {
                    throw new InvalidRequestException("allowed_token_ids", "allowed_token_ids contains out-of-vocab"
                            + " token id " + id + " (vocabulary size " + vocabSize + ").");
                }
            }
        }
        Map<Integer, Float> bias = p.logitBias() == null ? Map.of() : p.logitBias();
        for (Map.Entry<Integer, Float> e : bias.entrySet()) {
            if (e.getKey() == null || e.getKey() < 0 || e.getKey() >= vocabSize) {
                throw new InvalidRequestException("logit_bias", "token_id " + e.getKey()
                        + " in logit_bias is out of vocabulary (vocabulary size " + vocabSize + ").");
            }
            if (e.getValue() == null || !Float.isFinite(e.getValue())) {
                throw new InvalidRequestException("logit_bias", "logit_bias of token " + e.getKey()
                        + " must be a finite number.");
            }
        }
    }
}
