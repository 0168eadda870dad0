package io.quire.api;

import io.quire.KvLeakCheck;
import io.quire.engine.LLMEngine;
import io.quire.model.LanguageModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A Gemma 2 model (local sliding-window layers alternating with global ones) served over HTTP: a
 * greedy completion of a text prompt gives llama.cpp's tokens (the reference fixture of
 * ArchitectureReferenceTest), and while it runs {@code GET /kv/report} shows what the window would
 * save: the slots the local layers hold before their window, kept because the global layers read them.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"quire.kv-cache-memory=4MB", "quire.block-size=4"})
class GemmaServerTest {
    @LocalServerPort
    int port;
    @Autowired
    JsonMapper json;
    @Autowired
    LLMEngine engine;
    @Autowired
    LanguageModel<?> model;

    private final HttpClient http = HttpClient.newHttpClient();

    private static Path fixture(String name) {
        try {
            return Path.of(GemmaServerTest.class.getResource("/archs/" + name).toURI());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("quire.model", () -> fixture("gemma2.gguf").toString());
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode completion(String body) {
        try {
            URI uri = URI.create("http://localhost:" + port + "/v1/completions");
            HttpResponse<String> r = send(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            return json.readTree(r.body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void greedyCompletionMatchesLlamaCppAndTheReportShowsTheWindow() throws Exception {
        JsonNode ref = json.readTree(Files.readString(fixture("gemma2.json")));
        int[] expected = new int[ref.get("tokens").size()];
        for (int i = 0; i < expected.length; i++) expected[i] = ref.get("tokens").get(i).asInt();
        String body = json.writeValueAsString(java.util.Map.of("model", engine.modelName(), "prompt",
                ref.get("text").asString(), "max_tokens", expected.length, "temperature", 0, "ignore_eos", true));

        JsonNode report;
        CompletableFuture<JsonNode> done;
        try (EngineHold hold = EngineHold.afterSteps(engine, 3)) {
            done = CompletableFuture.supplyAsync(() -> completion(body));
            hold.awaitHeld();
            report = json.readTree(send(HttpRequest.newBuilder(
                    URI.create("http://localhost:" + port + "/kv/report")).GET()).body());
        }
        JsonNode out = done.get(60, TimeUnit.SECONDS);
        assertThat(out.get("usage").get("prompt_tokens").asInt()).isEqualTo(ref.get("prompt").size());
        assertThat(out.get("choices").get(0).get("text").asString()).isEqualTo(model.tokenizer().decode(expected));

        JsonNode w = report.get("sliding_window");
        assertThat(w.get("window").asInt()).isEqualTo(8);
        assertThat(w.get("sliding_layers").asInt()).isEqualTo(2);
        assertThat(w.get("num_layers").asInt()).isEqualTo(4);
        assertThat(w.get("blocks_freed").asLong()).as("global layers read every block: none freed").isZero();
        // Three steps in, the 46-token prompt and a token or two are stored: all but the last 8 lie before the window.
        int stored = report.get("sequences").get(0).get("num_tokens").asInt();
        assertThat(w.get("slots_out_of_window").asLong()).isEqualTo(stored - 8L);
        long bytesPerSlot = report.get("bytes_per_block").asLong() / report.get("block_size").asInt();
        assertThat(w.get("bytes_out_of_window").asLong()).isEqualTo((stored - 8L) * bytesPerSlot * 2 / 4);
    }
}
