package io.quire.api;

import io.quire.KvLeakCheck;
import io.quire.SharedFiles;
import io.quire.engine.LLMEngine;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real server on a random port serving stories260K through the real engine; every test class
 * extending this shares one Spring context. After each test the KV block pool must be full again
 * (no request may leak blocks, whatever happened to its client): {@link KvLeakCheck}.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=16MB",
        "quire.max-num-seqs=64",
})
abstract class Stories260KServerTest {
    static final String MODEL = "stories260K";
    /** llama.cpp's greedy continuation of "Once upon a time" (see shared/models/README.md). */
    static final String ONCE_UPON_A_TIME_32 =
            ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw";

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("quire.model", () -> SharedFiles.root().resolve("models/stories260K.gguf").toString());
    }

    @BeforeAll
    static void requireModel() {
        SharedFiles.stories260K();
    }

    @LocalServerPort
    int port;
    @Autowired
    LLMEngine engine;
    @Autowired
    JsonMapper json;

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    URI uri(String path) {
        return URI.create("http://localhost:" + port + path);
    }

    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return post(path, body, "application/json");
    }

    HttpResponse<String> post(String path, String body, String contentType) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) b.header("Content-Type", contentType);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    JsonNode postJson(String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = post(path, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        return json.readTree(r.body());
    }

    /**
     * Posts a streaming request and checks the wire format: {@code text/event-stream}, every event
     * exactly {@code data: <payload>} followed by a blank line, {@code [DONE]} last. Returns the
     * JSON payloads before {@code [DONE]}.
     */
    List<JsonNode> stream(String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = post(path, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("text/event-stream"));
        return parseEvents(r.body());
    }

    List<JsonNode> parseEvents(String body) {
        assertThat(body).endsWith("data: [DONE]\n\n");
        String[] events = body.split("\n\n", -1);
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < events.length - 2; i++) {
            assertThat(events[i]).startsWith("data: {").doesNotContain("\n");
            out.add(json.readTree(events[i].substring("data: ".length())));
        }
        assertThat(events[events.length - 2]).isEqualTo("data: [DONE]");
        assertThat(events[events.length - 1]).isEmpty();
        return out;
    }

    /** Concatenated text of choice {@code index} over completion chunks. */
    static String completionText(List<JsonNode> chunks, int index) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : chunks) {
            for (JsonNode choice : c.get("choices")) {
                if (choice.get("index").asInt() == index) sb.append(choice.get("text").asString());
            }
        }
        return sb.toString();
    }

    static String chatText(List<JsonNode> chunks) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : chunks) {
            for (JsonNode choice : c.get("choices")) {
                JsonNode content = choice.get("delta").get("content");
                if (content != null && !content.isNull()) sb.append(content.asString());
            }
        }
        return sb.toString();
    }
}
