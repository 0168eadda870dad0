package io.quire.api;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code quire.max-waiting-requests}: a request that would pass the waiting bound is refused
 * whole with 429 and {@code Retry-After}, nothing of it queued, and counted. The engine is held
 * at a step boundary so that the queue's content is certain.
 */
@TestPropertySource(properties = "quire.max-waiting-requests=4")
class AdmissionControlApiTest extends Stories260KServerTest {

    private static String completion(String prompt) {
        return """
                {"model": "stories260K", "prompt": %s, "max_tokens": 20, "ignore_eos": true, "stream": true}"""
                .formatted(prompt);
    }

    private CompletableFuture<HttpResponse<String>> sendAsync(String body) {
        return http.sendAsync(HttpRequest.newBuilder(uri("/v1/completions")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private void awaitActive(int n) {
        await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5))
                .untilAsserted(() -> assertThat(engine.numActiveRequests()).as("active requests").isEqualTo(n));
    }

    private double rejectedOnPrometheus() throws Exception {
        for (String line : get("/actuator/prometheus").body().split("\n")) {
            if (line.startsWith("quire_num_requests_rejected_total{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("quire_num_requests_rejected_total is not exposed");
    }

    private void assertRefusedWith429(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
        assertThat(r.headers().firstValue("Retry-After")).hasValue("1");
        JsonNode error = json.readTree(r.body()).get("error");
        assertThat(error.get("type").asString()).isEqualTo("RateLimitError");
        assertThat(error.get("code").asInt()).isEqualTo(429);
        assertThat(error.get("message").asString()).contains("busy");
    }

    @Test
    void aRequestThatCouldNeverFitIs400() throws Exception {
        HttpResponse<String> r = post("/v1/completions", """
                {"model": "stories260K", "prompt": ["a", "b", "c", "d", "e"], "max_tokens": 2}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json.readTree(r.body()).get("error").get("message").asString())
                .contains("more than the server queues at once (4)");
        // OpenAI's bound on a batch, checked before anything is tokenized.
        String many = "[" + "\"a\", ".repeat(2048) + "\"a\"]";
        HttpResponse<String> tooMany =
                post("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": " + many + "}");
        assertThat(tooMany.statusCode()).as(tooMany.body()).isEqualTo(400);
        assertThat(json.readTree(tooMany.body()).get("error").get("param").asString()).isEqualTo("prompt");
        assertThat(json.readTree(tooMany.body()).get("error").get("message").asString())
                .contains("at most 2048 prompts");
        HttpResponse<String> n = post("/v1/completions", """
                {"model": "stories260K", "prompt": ["a", "b"], "n": 3, "max_tokens": 2}""");
        assertThat(n.statusCode()).as(n.body()).isEqualTo(400);
    }

    @Test
    void pastTheWaitingLimitTheWholeRequestIsRefusedWith429AndNothingIsQueued() throws Exception {
        CountDownLatch paused = new CountDownLatch(1), resume = new CountDownLatch(1);
        AtomicBoolean armed = new AtomicBoolean(true);
        // Runs on the engine thread after a step: holding it there keeps every later request waiting.
        engine.addKvReportListener(report -> {
            if (!armed.compareAndSet(true, false)) return;
            paused.countDown();
            try {
                resume.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        double rejectedBefore = rejectedOnPrometheus();
        List<CompletableFuture<HttpResponse<String>>> accepted = new ArrayList<>();
        try {
            accepted.add(sendAsync(completion("\"running\"")));
            assertThat(paused.await(30, TimeUnit.SECONDS)).isTrue();
            awaitActive(1); // scheduled: it no longer waits
            for (int i = 0; i < 3; i++) accepted.add(sendAsync(completion("\"waiting " + i + "\"")));
            awaitActive(4); // 3 waiting, 1 place left

            // Two prompts need two places: refused whole, neither queued.
            assertRefusedWith429(post("/v1/completions", completion("[\"x\", \"y\"]")));
            assertThat(engine.numActiveRequests()).isEqualTo(4);
            // n = 2 counts two places too, on the chat endpoint as well.
            assertRefusedWith429(post("/v1/chat/completions", """
                    {"model": "stories260K", "messages": [{"role": "user", "content": "Hi"}], "n": 2,
                     "max_tokens": 2}"""));
            assertThat(engine.numActiveRequests()).isEqualTo(4);

            accepted.add(sendAsync(completion("\"the last place\"")));
            awaitActive(5);
            assertRefusedWith429(post("/v1/completions", completion("\"one too many\"")));
            assertThat(engine.numActiveRequests()).isEqualTo(5);
        } finally {
            resume.countDown();
        }
        for (CompletableFuture<HttpResponse<String>> f : accepted) {
            HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).contains("\"finish_reason\":\"length\"").endsWith("data: [DONE]\n\n");
        }
        assertThat(rejectedOnPrometheus()).isEqualTo(rejectedBefore + 3);
        // Once the queue drained, requests are admitted again.
        assertThat(post("/v1/completions", completion("\"again\"")).statusCode()).isEqualTo(200);
    }
}
