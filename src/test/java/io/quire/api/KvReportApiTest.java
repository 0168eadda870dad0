package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code GET /kv/report} and the KV gauges on the real server (stories260K). */
class KvReportApiTest extends Stories260KServerTest {

    @Test
    void reportAndGaugesAreServed() throws Exception {
        JsonNode done = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}""");
        assertThat(done.get("choices").get(0).get("text").asString()).isNotEmpty();

        HttpResponse<String> r = get("/kv/report");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = json.readTree(r.body());
        assertThat(body.get("model").asString()).isEqualTo(MODEL);
        assertThat(body.get("allocation_policy").asString()).isEqualTo("PAGED");
        assertThat(body.get("step").asLong()).isGreaterThanOrEqualTo(8);
        JsonNode t = body.get("totals");
        assertThat(t.get("blocks_total").asInt()).isEqualTo(engine.numTotalBlocks());
        assertThat(t.get("blocks_used").asInt() + t.get("blocks_free").asInt()).isEqualTo(engine.numTotalBlocks());
        assertThat(t.get("bytes_total").asLong())
                .isEqualTo(engine.numTotalBlocks() * body.get("bytes_per_block").asLong());
        assertThat(body.get("sequences").isArray()).isTrue();
        assertThat(body.get("blocks").isArray()).isTrue();

        String prometheus = get("/actuator/prometheus").body();
        for (String gauge : new String[] {"quire_kv_blocks_used", "quire_kv_tokens_stored", "quire_kv_slots_wasted",
                "quire_kv_slots_reserved",
                "quire_kv_blocks_shared", "quire_kv_sharing_saved_bytes", "quire_kv_utilization_perc"}) {
            assertThat(prometheus).contains(gauge + "{model_name=\"stories260K\"}");
        }
    }

    @Test
    void withoutAKeyTheReportShowsAliasesNotRequestIds() throws Exception {
        JsonNode report;
        CompletableFuture<JsonNode> completion;
        try (EngineHold hold = EngineHold.afterSteps(engine, 2)) {
            completion = CompletableFuture.supplyAsync(() -> {
                try {
                    return postJson("/v1/completions", """
                            {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 6, "n": 2}""");
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            hold.awaitHeld();
            report = json.readTree(get("/kv/report").body());
        }
        String requestId = completion.get(60, TimeUnit.SECONDS).get("id").asString();
        assertThat(json.writeValueAsString(report)).doesNotContain(requestId).doesNotContain("cmpl-");
        // Per-report aliases keep the structure: two sequences of one request, blocks owned by it.
        JsonNode seqs = report.get("sequences");
        assertThat(seqs.findValuesAsString("sequence_id")).containsExactly("seq-1", "seq-2");
        assertThat(seqs.findValuesAsString("request_id")).containsExactly("req-1", "req-1");
        assertThat(report.get("blocks").size()).isPositive();
        for (JsonNode block : report.get("blocks")) {
            assertThat(json.writeValueAsString(block.get("owners"))).isEqualTo("[\"req-1\"]");
        }
    }
}
