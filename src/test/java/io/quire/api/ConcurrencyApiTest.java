package io.quire.api;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Many clients at once, and clients that go away. */
class ConcurrencyApiTest extends Stories260KServerTest {
    private static final String[] PROMPTS = {
            "Once upon a time", "Tom had a red ball", "The sun was shining", "Lily and her mom",
            "One day, a little dog", "The cat sat", "Sue wanted to play", "There was a big tree"};
    private static final int[] LENGTHS = {4, 9, 17, 30, 47};

    @Autowired
    MeterRegistry registry;

    private static String body(String prompt, int maxTokens, boolean stream) {
        // stream_options only with stream: true (a 400 otherwise).
        return """
                {"model": "stories260K", "prompt": "%s", "max_tokens": %d, "temperature": 0, "stream": %s%s}"""
                .formatted(prompt, maxTokens, stream, stream ? ", \"stream_options\": {\"include_usage\": true}" : "");
    }

    @Test
    void sixtyFourConcurrentStreamsEachGetTheirOwnTextAndUsage() throws Exception {
        // Reference: each (prompt, length) alone, one after the other.
        Map<String, JsonNode> expected = new HashMap<>();
        for (String p : PROMPTS) {
            for (int len : LENGTHS) expected.put(p + "|" + len, postJson("/v1/completions", body(p, len, false)));
        }
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            String p = PROMPTS[i % PROMPTS.length];
            int len = LENGTHS[(i / PROMPTS.length + i) % LENGTHS.length];
            keys.add(p + "|" + len);
            HttpRequest request = HttpRequest.newBuilder(uri("/v1/completions")).timeout(Duration.ofSeconds(300))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body(p, len, true))).build();
            futures.add(client.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
        }
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
        for (int i = 0; i < 64; i++) {
            HttpResponse<String> r = futures.get(i).join();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            List<JsonNode> chunks = parseEvents(r.body());
            JsonNode ref = expected.get(keys.get(i));
            assertThat(completionText(chunks, 0)).as("request %d (%s)", i, keys.get(i))
                    .isEqualTo(ref.get("choices").get(0).get("text").asString());
            assertThat(chunks.getLast().get("usage")).as("usage of request %d", i).isEqualTo(ref.get("usage"));
            assertThat(chunks.get(chunks.size() - 2).get("choices").get(0).get("finish_reason").asString())
                    .isEqualTo(ref.get("choices").get(0).get("finish_reason").asString());
        }
    }

    @Test
    void aClientThatDisconnectsMidStreamAbortsItsRequest() throws Exception {
        Counter aborted = registry.find("quire_request_success").tag("finished_reason", "abort").counter();
        assertThat(aborted).as("the engine's abort counter").isNotNull();
        double abortsBefore = aborted.count();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        String body = """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 480, "ignore_eos": true,
                 "temperature": 0, "stream": true}""";
        HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(uri("/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        InputStream in = r.body();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        int events = 0;
        for (String line; events < 3 && (line = reader.readLine()) != null; ) {
            if (line.startsWith("data: {")) events++;
        }
        assertThat(events).isEqualTo(3);
        in.close();
        client.shutdownNow();
        // The server sees the connection close, cancels the stream, and the engine aborts the request
        // long before its 480 tokens are done; the leak check after the test sees its blocks freed.
        assertThat(awaitMore(aborted, abortsBefore)).as("requests aborted").isEqualTo(abortsBefore + 1);
    }

    /** The counter's value once it has grown past {@code before} (within 10 s, polled every 20 ms). */
    private static double awaitMore(Counter counter, double before) {
        return await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(counter::count, c -> c > before);
    }

    @Test
    void aClientThatGoesAwayBeforeANonStreamedReplyAbortsItsRequest() throws Exception {
        Counter aborted = registry.find("quire_request_success").tag("finished_reason", "abort").counter();
        assertThat(aborted).isNotNull();
        double abortsBefore = aborted.count();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        String body = """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 480, "ignore_eos": true,
                 "temperature": 0}""";
        CompletableFuture<HttpResponse<String>> reply = client.sendAsync(HttpRequest.newBuilder(uri("/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        int running = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                .until(() -> engine.stats().running(), n -> n > 0);
        assertThat(running).as("the request is running").isEqualTo(1);
        reply.cancel(true);
        client.shutdownNow();
        assertThat(awaitMore(aborted, abortsBefore)).as("requests aborted").isEqualTo(abortsBefore + 1);
    }
}
