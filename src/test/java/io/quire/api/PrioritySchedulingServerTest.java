package io.quire.api;

import io.quire.KvLeakCheck;
import io.quire.engine.LLMEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A server started with {@code quire.scheduling-policy=priority} (the built-in model, a KV cache small
 * enough that requests are preempted): requests of any priority are served, each whole, and every KV
 * block comes back.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.model=dummy", "quire.scheduling-policy=priority", "quire.max-num-seqs=8",
        "quire.kv-cache-memory=1MB", "quire.max-model-len=256", "quire.warmup-requests=0"})
class PrioritySchedulingServerTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    @LocalServerPort
    int port;
    @Autowired
    LLMEngine engine;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Test
    void requestsOfEveryPriorityAreServedWholeUnderPreemption() throws Exception {
        Random rnd = new Random(11);
        List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            String body = """
                    {"prompt": "Request %d of a priority test", "max_tokens": 80, "ignore_eos": true,
                     "temperature": 0, "priority": %d}""".formatted(i, rnd.nextInt(11) - 5);
            sent.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                    .timeout(Duration.ofSeconds(120)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : sent) {
            HttpResponse<String> r = f.get();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode usage = JSON.readTree(r.body()).get("usage");
            assertThat(usage.get("completion_tokens").asInt()).isEqualTo(80);
        }
        assertThat(engine.stats().numPreemptions()).as("the small cache made the scheduler pick victims").isPositive();
    }
}
