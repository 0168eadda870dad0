package io.quire.api;

import io.quire.engine.EngineStats;
import io.quire.kv.KvMemoryReport;

import java.util.function.Supplier;

/**
 * What {@code GET /kv/report} and {@code GET /kv/stream} read of the engine: the served model's
 * name, its KV allocation policy, the latest report and the engine's counters. The configuration
 * builds it from the engine, so the API needs no more of the engine than this read-only view.
 *
 * @param latest the report of the engine's latest step boundary (built there on demand; never blocks a step)
 * @param stats  the engine's latest snapshot: running and waiting requests, preemptions
 */
public record KvReportSource(String modelName, String allocationPolicy, Supplier<KvMemoryReport> latest,
                             Supplier<EngineStats> stats) {}
