package io.quire.api.tools;

/** A function call found in model output: the function's name and its arguments as a JSON text. */
public record ParsedToolCall(String name, String arguments) {}
