package io.quire.engine;

/**
 * A prompt token's logprob given the tokens before it (vLLM's {@code prompt_logprobs}): with the top k
 * alternatives at its position, as a sampled token's, and its rank in the vocabulary (1: the most likely).
 */
public record PromptLogprob(TokenLogprob logprob, int rank) {}
