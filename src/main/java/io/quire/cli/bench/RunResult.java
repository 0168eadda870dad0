package io.quire.cli.bench;

import java.util.List;

/** Every request's outcome in request order, the run's wall time and the most requests ever in flight at once. */
public record RunResult(List<RequestResult> requests, double durationSeconds, int peakConcurrency) {}
