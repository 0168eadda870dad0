package io.quire.api;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.quire.engine.EngineStats;
import io.quire.engine.GenerationService;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import java.util.Map;

/**
 * vLLM's {@code GET /metrics}: the engine's metrics under vLLM's names ({@code vllm:num_requests_running},
 * {@code vllm:time_to_first_token_seconds_bucket}, ...), so that dashboards, alerts and autoscalers
 * written for vLLM read this server unchanged. The same meters as {@code /actuator/prometheus}, where
 * they are {@code quire_*}; only those vLLM has are shown (Micrometer's {@code _max} gauges and
 * Quire's own, such as the KV memory gauges, stay on the Actuator endpoint). Open like that endpoint:
 * scrapers send no key.
 */
@Component
public class VllmMetricsHandler {
    /** Quire's family names and vLLM's (counters with Prometheus' {@code _total}, histograms by their base). */
    private static final Map<String, String> NAMES = Map.ofEntries(
            Map.entry("quire_num_requests_running", "vllm:num_requests_running"),
            Map.entry("quire_num_requests_waiting", "vllm:num_requests_waiting"),
            Map.entry("quire_num_requests_swapped", "vllm:num_requests_swapped"),
            Map.entry("quire_kv_cache_usage_perc", "vllm:kv_cache_usage_perc"),
            Map.entry("quire_cpu_cache_usage_perc", "vllm:cpu_cache_usage_perc"),
            Map.entry("quire_prompt_tokens_total", "vllm:prompt_tokens_total"),
            Map.entry("quire_generation_tokens_total", "vllm:generation_tokens_total"),
            Map.entry("quire_num_preemptions_total", "vllm:num_preemptions_total"),
            Map.entry("quire_prefix_cache_queries_total", "vllm:prefix_cache_queries_total"),
            Map.entry("quire_prefix_cache_hits_total", "vllm:prefix_cache_hits_total"),
            Map.entry("quire_request_success_total", "vllm:request_success_total"),
            Map.entry("quire_spec_decode_num_drafts_total", "vllm:spec_decode_num_drafts_total"),
            Map.entry("quire_spec_decode_num_draft_tokens_total", "vllm:spec_decode_num_draft_tokens_total"),
            Map.entry("quire_spec_decode_num_accepted_tokens_total", "vllm:spec_decode_num_accepted_tokens_total"),
            Map.entry("quire_spec_decode_num_accepted_tokens_per_pos_total",
                    "vllm:spec_decode_num_accepted_tokens_per_pos_total"),
            Map.entry("quire_time_to_first_token_seconds", "vllm:time_to_first_token_seconds"),
            Map.entry("quire_inter_token_latency_seconds", "vllm:inter_token_latency_seconds"),
            Map.entry("quire_time_per_output_token_seconds", "vllm:time_per_output_token_seconds"),
            Map.entry("quire_e2e_request_latency_seconds", "vllm:e2e_request_latency_seconds"),
            Map.entry("quire_request_queue_time_seconds", "vllm:request_queue_time_seconds"),
            // Prometheus reserves _total for counters: Quire's histogram is quire_iteration_tokens_*
            Map.entry("quire_iteration_tokens", "vllm:iteration_tokens_total"));
    /** What follows a family's name on its sample lines. */
    private static final String[] SUFFIXES = {"", "_bucket", "_sum", "_count"};

    private final ObjectProvider<PrometheusMeterRegistry> registry;
    private final GenerationService engine;
    private final KvReportSource source;

    public VllmMetricsHandler(ObjectProvider<PrometheusMeterRegistry> registry, GenerationService engine,
            KvReportSource source) {
        this.registry = registry;
        this.engine = engine;
        this.source = source;
    }

    public Mono<ServerResponse> metrics(ServerRequest request) {
        PrometheusMeterRegistry r = registry.getIfAvailable();
        if (r == null) {
            return ServerResponse.status(HttpStatus.NOT_FOUND).contentType(MediaType.TEXT_PLAIN)
                    .bodyValue("Prometheus metrics are turned off (management.prometheus.metrics.export.enabled)\n");
        }
        return Mono.fromCallable(() -> renamed(r.scrape()) + loraInfo()).subscribeOn(Schedulers.boundedElastic())
                .flatMap(body -> ServerResponse.ok().contentType(MediaType.parseMediaType(
                        "text/plain;version=0.0.4;charset=utf-8")).bodyValue(body));
    }

    /** The lines of a Prometheus text scrape whose family vLLM has, under vLLM's name; the rest dropped. */
    static String renamed(String scrape) {
        StringBuilder out = new StringBuilder();
        for (String line : scrape.split("\n")) {
            boolean comment = line.startsWith("# HELP ") || line.startsWith("# TYPE ");
            int start = comment ? 7 : 0;
            if (!comment && (line.isEmpty() || line.startsWith("#"))) continue;
            int end = start;
            while (end < line.length() && line.charAt(end) != ' ' && line.charAt(end) != '{') end++;
            String name = line.substring(start, end);
            String vllm = vllmName(name, comment);
            if (vllm != null) out.append(line, 0, start).append(vllm).append(line, end, line.length()).append('\n');
        }
        return out.toString();
    }

    /**
     * vLLM's {@code vllm:lora_requests_info} when adapters are served: the adapters of the running and of
     * the waiting requests as labels, the time as value (vLLM sets it at each step; here at the scrape,
     * of the latest step's snapshot), which LoRA-aware routers such as the Gateway API Inference
     * Extension read. {@code max_lora} is every adapter: all are loaded and any may share a step.
     */
    private String loraInfo() {
        int adapters = engine.adapters().size();
        if (adapters == 0) return "";
        EngineStats stats = source.stats().get();
        return "# HELP vllm:lora_requests_info Running stats on lora requests.\n"
                + "# TYPE vllm:lora_requests_info gauge\n"
                + "vllm:lora_requests_info{max_lora=\"" + adapters + "\",running_lora_adapters=\""
                + label(String.join(",", stats.runningAdapters())) + "\",waiting_lora_adapters=\""
                + label(String.join(",", stats.waitingAdapters())) + "\"} " + System.currentTimeMillis() / 1000.0
                + "\n";
    }

    /** A Prometheus label value: backslash, quote and newline escaped. */
    private static String label(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    /** vLLM's name for a sample (or, {@code family}, a HELP/TYPE line's family); null when vLLM has none. */
    private static String vllmName(String name, boolean family) {
        String whole = NAMES.get(name);
        if (whole != null) return whole;
        if (family) return null;
        for (String suffix : SUFFIXES) {
            if (suffix.isEmpty() || !name.endsWith(suffix)) continue;
            String base = NAMES.get(name.substring(0, name.length() - suffix.length()));
            if (base != null) return base + suffix;
        }
        return null;
    }
}
