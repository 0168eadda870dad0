package io.quire.cli.bench;

/** A line of a response body and the {@link System#nanoTime()} at which it arrived. */
public record TimedLine(String text, long arrivalNanos) {}
