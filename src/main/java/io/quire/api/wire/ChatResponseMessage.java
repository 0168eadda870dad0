package io.quire.api.wire;

/** The assistant's reply in a non-streamed chat completion. */
public record ChatResponseMessage(String role, String content) {}
