package io.quire.api;

import io.quire.kv.KvMemoryReport;

import java.util.function.Supplier;

/**
 * What {@code GET /kv/report} reads of the engine: the served model's name, its KV allocation
 * policy and the latest report. The configuration builds it from the engine, so the API needs no
 * more of the engine than this read-only view.
 *
 * @param latest the report the engine published at its latest step boundary (never blocks a step)
 */
public record KvReportSource(String modelName, String allocationPolicy, Supplier<KvMemoryReport> latest) {}
