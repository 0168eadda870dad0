package io.quire.api;

import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * vLLM's {@code GET /metrics} against a running server: vLLM's names for the engine's metrics, each
 * sample the value {@code /actuator/prometheus} gives under Quire's name, and nothing else.
 */
class VllmMetricsApiTest extends Stories260KServerTest {
    /** The names a vLLM dashboard reads (vLLM's Grafana example, its production stack's router). */
    private static final List<String> VLLM_FAMILIES = List.of("vllm:num_requests_running",
            "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:prompt_tokens_total",
            "vllm:generation_tokens_total", "vllm:num_preemptions_total", "vllm:request_success_total",
            "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total", "vllm:time_to_first_token_seconds",
            "vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds",
            "vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds", "vllm:iteration_tokens_total");

    /** Sample lines by name and labels. */
    private static Map<String, Double> samples(String body) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String line : body.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) continue;
            int space = line.lastIndexOf(' ');
            out.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        }
        return out;
    }

    @Test
    void theEngineMetricsUnderVllmsNames() throws Exception {
        postJson("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 4, \"temperature\": 0}");
        HttpResponse<String> r = get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("text/plain"));
        String body = r.body();
        for (String family : VLLM_FAMILIES) {
            assertThat(body).as(family).contains("# TYPE " + family + " ");
        }
        assertThat(body).contains("# TYPE vllm:time_to_first_token_seconds histogram")
                .contains("vllm:time_to_first_token_seconds_bucket{model_name=\"stories260K\",le=\"0.001\"}")
                .contains("vllm:iteration_tokens_total_bucket{")
                .contains("vllm:request_success_total{finished_reason=\"length\",model_name=\"stories260K\"}")
                .doesNotContain("quire_").doesNotContain("_max{");
        // every sample is the Actuator endpoint's under Quire's name (scraped one after the other; again if the
        // engine recorded the request's end in between)
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            Map<String, Double> vllm = samples(get("/metrics").body());
            Map<String, Double> quire = samples(get("/actuator/prometheus").body());
            assertThat(vllm).isNotEmpty();
            for (Map.Entry<String, Double> e : vllm.entrySet()) {
                String name = e.getKey().replace("vllm:iteration_tokens_total", "quire_iteration_tokens")
                        .replace("vllm:", "quire_");
                assertThat(quire).as(e.getKey()).containsKey(name);
                assertThat(e.getValue()).as(e.getKey()).isEqualTo(quire.get(name));
            }
            assertThat(vllm.get("vllm:generation_tokens_total{model_name=\"stories260K\"}")).isGreaterThanOrEqualTo(4.0);
        });
        assertThat(post("/metrics", "{}").statusCode()).isEqualTo(405);
    }
}
