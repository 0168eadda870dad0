package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

import java.util.List;

/** vLLM's {@code POST /detokenize}. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record DetokenizeRequest(String model, List<Integer> tokens) {}
