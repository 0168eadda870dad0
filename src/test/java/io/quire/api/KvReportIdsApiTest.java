package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** With API keys configured, {@code GET /kv/report} needs one, and a key holder sees the real request ids. */
class KvReportIdsApiTest extends ApiKeyServerTest {

    @Test
    void aKeyHolderSeesTheRequestIds() throws Exception {
        ProtectedRoutes.assertUnauthorized(get("/kv/report"), "/kv/report without a key", null);
        JsonNode report;
        CompletableFuture<HttpResponse<String>> completion;
        try (EngineHold hold = EngineHold.afterSteps(engine, 2)) {
            completion = CompletableFuture.supplyAsync(() -> {
                try {
                    return send("POST", "/v1/completions", """
                            {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 6, "n": 2}""",
                            "Authorization", "Bearer " + KEY_ONE);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            hold.awaitHeld();
            report = json.readTree(getWithKey("/kv/report").body());
        }
        assertThat(completion.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        JsonNode seqs = report.get("sequences");
        assertThat(seqs.size()).isEqualTo(2);
        String requestId = seqs.get(0).get("request_id").asString();
        assertThat(requestId).startsWith("cmpl-");
        assertThat(seqs.get(1).get("request_id").asString()).isEqualTo(requestId);
        assertThat(seqs.findValuesAsString("sequence_id")).containsExactlyInAnyOrder(requestId, requestId + "#1");
        for (JsonNode block : report.get("blocks")) {
            assertThat(block.get("owners").get(0).asString()).isEqualTo(requestId);
        }
    }
}
