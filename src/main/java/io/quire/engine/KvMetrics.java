package io.quire.engine;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quire.kv.KvMemoryReport;

import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Gauges of the engine's {@link KvMemoryReport}, tagged {@code model_name}: where the KV cache's
 * memory goes (token states, internal fragmentation, reservations) and what sharing saves. Each
 * read asks the engine for the report (see {@link KvReporter}: a scrape's reads share one).
 */
final class KvMetrics {
    private KvMetrics() {}

    static void register(MeterRegistry registry, String modelName, Supplier<KvMemoryReport> report) {
        Gauges g = new Gauges(registry, modelName, report);
        g.add("quire_kv_blocks_total", "KV-cache blocks in the pool.", KvMemoryReport::numTotalBlocks);
        g.add("quire_kv_blocks_used", "KV-cache blocks in use.", KvMemoryReport::blocksUsed);
        g.add("quire_kv_tokens_stored", "Token slots holding KV (each physical slot once).",
                KvMemoryReport::tokensStored);
        g.add("quire_kv_slots_wasted", "Unused slots in partly filled blocks (internal fragmentation).",
                KvMemoryReport::slotsWasted);
        g.add("quire_kv_slots_reserved",
                "Slots reserved ahead of tokens not generated yet (up-front allocation policies).",
                KvMemoryReport::slotsReserved);
        g.add("quire_kv_blocks_shared", "KV-cache blocks referenced by more than one sequence.",
                KvMemoryReport::blocksShared);
        g.add("quire_kv_sharing_saved_blocks",
                "Blocks that sharing saves (blocks referenced by sequences minus blocks they use).",
                KvMemoryReport::sharingSavedBlocks);
        g.add("quire_kv_used_bytes", "Bytes of the KV-cache blocks in use.", KvMemoryReport::usedBytes);
        g.add("quire_kv_tokens_stored_bytes", "Bytes of the KV cache holding token states.",
                KvMemoryReport::tokensStoredBytes);
        g.add("quire_kv_wasted_bytes", "Bytes of unused slots in partly filled blocks.", KvMemoryReport::wastedBytes);
        g.add("quire_kv_reserved_bytes", "Bytes reserved ahead of tokens not generated yet.",
                KvMemoryReport::reservedBytes);
        g.add("quire_kv_sharing_saved_bytes", "KV-cache bytes that sharing saves.", KvMemoryReport::sharingSavedBytes);
        g.add("quire_kv_utilization_perc",
                "Fraction of the allocated KV slots holding token states. 1 means 100 percent.",
                KvMemoryReport::utilization);
    }

    private record Gauges(MeterRegistry registry, String modelName, Supplier<KvMemoryReport> report) {
        void add(String name, String description, ToDoubleFunction<KvMemoryReport> value) {
            Gauge.builder(name, report, s -> value.applyAsDouble(s.get())).tag("model_name", modelName)
                    .description(description)
                    .strongReference(true).register(registry); // the supplier lambda has no other reference
        }
    }
}
