package io.quire.cli.bench;

/** The prompt and output lengths, in tokens, drawn for one request. */
public record Lengths(int input, int output) {}
