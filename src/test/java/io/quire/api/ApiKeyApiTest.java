package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code quire.api-key}: which routes need a key, what a refusal looks like, and streaming behind it. */
class ApiKeyApiTest extends ApiKeyServerTest {

    @Test
    void everyProtectedRouteNeedsOneOfTheKeys() throws Exception {
        ProtectedRoutes.check(http, port, MODEL, KEY_ONE, KEY_TWO);
    }

    @Test
    void probesAndScrapersNeedNoKey() throws Exception {
        for (String path : new String[] {"/health", "/version", "/actuator/health", "/actuator/health/readiness",
                "/actuator/health/liveness", "/actuator/prometheus", "/metrics"}) {
            assertThat(get(path).statusCode()).as(path).isEqualTo(200);
            // A stray or wrong token does not turn an open route into a 401.
            assertThat(send("GET", path, null, "Authorization", "Bearer something-else").statusCode())
                    .as(path + " with a wrong key").isEqualTo(200);
        }
        assertThat(get("/actuator/prometheus").body()).contains("quire_num_requests_running");
        assertThat(get("/metrics").body()).contains("vllm:num_requests_running");
    }

    @Test
    void healthDetailsAreForKeyHoldersOnly() throws Exception {
        JsonNode anonymous = json.readTree(get("/actuator/health").body());
        assertThat(anonymous.get("status").asString()).isEqualTo("UP");
        assertThat(anonymous.get("components").get("model").get("status").asString()).isEqualTo("UP");
        assertThat(anonymous.findValues("details")).isEmpty();
        JsonNode holder = json.readTree(getWithKey("/actuator/health").body());
        assertThat(holder.get("components").get("diskSpace").get("details").has("path")).isTrue();
        assertThat(holder.get("components").get("model").get("details").get("model").asString()).isEqualTo(MODEL);
    }

    @Test
    void thePlaygroundPageIsOpenButItsKvStreamNeedsAKey() throws Exception {
        for (String path : new String[] {"/", "/index.html", "/playground/app.js", "/playground/style.css"}) {
            assertThat(get(path).statusCode()).as(path).isEqualTo(200);
        }
        assertThat(get("/").body()).contains("id=\"api-key\"");
        ProtectedRoutes.assertUnauthorized(get("/kv/stream"), "/kv/stream", null);
        ProtectedRoutes.assertUnauthorized(send("GET", "/kv/stream", null, "Authorization", "Bearer not-a-key"),
                "/kv/stream with a wrong key", "invalid_token");
        // With a key: the stream opens and its first event is the pool as it is now.
        HttpResponse<Stream<String>> stream = http.send(HttpRequest.newBuilder(uri("/kv/stream"))
                .header("Authorization", "Bearer " + KEY_TWO).build(), HttpResponse.BodyHandlers.ofLines());
        try (var lines = stream.body()) {
            assertThat(stream.statusCode()).isEqualTo(200);
            assertThat(stream.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
            String first = lines.filter(l -> l.startsWith("data: ")).findFirst().orElseThrow();
            JsonNode snapshot = json.readTree(first.substring("data: ".length()));
            assertThat(snapshot.get("model").asString()).isEqualTo(MODEL);
            assertThat(snapshot.get("totals").get("blocks_total").asInt()).isEqualTo(engine.numTotalBlocks());
        }
    }

    @Test
    void everythingElseNeedsAKeyToo() throws Exception {
        // Unknown routes and the other Actuator endpoints: 401 first, then the usual answer.
        for (String path : new String[] {"/v1/engines", "/actuator/metrics", "/actuator/info"}) {
            ProtectedRoutes.assertUnauthorized(get(path), path, null);
        }
        JsonNode notFound = json.readTree(getWithKey("/v1/engines").body());
        assertThat(notFound.get("error").get("type").asString()).isEqualTo("NotFoundError");
        assertThat(getWithKey("/actuator/metrics").statusCode()).isEqualTo(200);
        HttpResponse<String> wrongMethod = send("GET", "/v1/completions", null, "Authorization", "Bearer " + KEY_TWO);
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        assertThat(json.readTree(wrongMethod.body()).get("error").get("type").asString())
                .isEqualTo("MethodNotAllowedError");
    }

    @Test
    void aStreamFlowsWithTheKeyEventByEvent() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(uri("/v1/completions")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + KEY_ONE)
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 12, "temperature": 0, "stream": true}"""))
                .build();
        // Hold the engine after its third step: the events of the first tokens must already have
        // reached the client, which they would not if anything on the way buffered the response.
        HttpResponse<Stream<String>> response;
        StringBuilder body = new StringBuilder();
        try (EngineHold hold = EngineHold.afterSteps(engine, 3)) {
            CompletableFuture<HttpResponse<Stream<String>>> sent = http.sendAsync(request,
                    HttpResponse.BodyHandlers.ofLines());
            hold.awaitHeld();
            response = sent.get(30, TimeUnit.SECONDS);
            assertThat(response.statusCode()).isEqualTo(200);
            Iterator<String> lines = response.body().iterator();
            String first = CompletableFuture.supplyAsync(lines::next).get(30, TimeUnit.SECONDS);
            assertThat(first).startsWith("data: {");
            body.append(first).append('\n');
            hold.close();
            lines.forEachRemaining(l -> body.append(l).append('\n'));
        }
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("text/event-stream"));
        // Spring Security adds its no-store headers only where a response sets none: the stream keeps its own.
        assertThat(response.headers().allValues("Cache-Control")).containsExactly("no-cache");
        assertThat(response.headers().firstValue("X-Accel-Buffering")).hasValue("no");
        String text = completionText(parseEvents(body.toString()), 0);
        assertThat(text).isNotEmpty();
        assertThat(ONCE_UPON_A_TIME_32).startsWith(text);
    }
}
