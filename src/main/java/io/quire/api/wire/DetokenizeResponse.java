package io.quire.api.wire;

/** vLLM's detokenize result. */
public record DetokenizeResponse(String prompt) {}
