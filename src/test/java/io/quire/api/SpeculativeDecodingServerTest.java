package io.quire.api;

import io.quire.KvLeakCheck;
import io.quire.SharedFiles;
import org.junit.jupiter.api.BeforeAll;
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
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A server started with vLLM's n-gram speculative decoding on stories260K, over real HTTP: greedy text
 * is still llama.cpp's, streamed chunks carry the several tokens a step keeps (their logprobs one per
 * token), streamed and whole answers agree, and {@code /metrics} shows vLLM's spec-decode counters.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=8MB",
        "quire.speculative-config={\"method\": \"ngram\", \"num_speculative_tokens\": 3, \"prompt_lookup_max\": 4,"
                + " \"prompt_lookup_min\": 1}"})
class SpeculativeDecodingServerTest {
    @LocalServerPort
    int port;
    @Autowired
    JsonMapper json;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("quire.model", () -> SharedFiles.root().resolve("models/stories260K.gguf").toString());
    }

    @BeforeAll
    static void requireModel() {
        SharedFiles.stories260K();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A streamed completion's text, token count (by its logprobs) and number of chunks with text. */
    private record Streamed(String text, int tokens, int chunks) {}

    private Streamed stream(String body) throws Exception {
        HttpResponse<String> r = post("/v1/completions", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        int tokens = 0, chunks = 0;
        for (String line : r.body().split("\n")) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
            JsonNode choices = json.readTree(line.substring(6)).get("choices");
            if (choices == null || choices.isEmpty()) continue;
            JsonNode c = choices.get(0);
            text.append(c.get("text").asString());
            JsonNode lp = c.get("logprobs");
            if (lp != null && !lp.isNull() && lp.get("tokens").size() > 0) {
                tokens += lp.get("tokens").size();
                assertThat(lp.get("token_logprobs").size()).isEqualTo(lp.get("tokens").size());
                assertThat(lp.get("top_logprobs").size()).isEqualTo(lp.get("tokens").size());
                chunks++;
            }
        }
        assertThat(r.body()).endsWith("data: [DONE]\n\n");
        return new Streamed(text.toString(), tokens, chunks);
    }

    @Test
    void greedyTextIsUnchangedAndAStepsTokensComeInOneChunk() throws Exception {
        Streamed s = stream("{\"prompt\": \"Once upon a time\", \"max_tokens\": 32, \"temperature\": 0,"
                + " \"stream\": true, \"logprobs\": 1}");
        assertThat(s.text()).isEqualTo(Stories260KServerTest.ONCE_UPON_A_TIME_32);
        assertThat(s.tokens()).isEqualTo(32);

        String body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 300, \"temperature\": 0,"
                + " \"ignore_eos\": true, \"logprobs\": 1";
        Streamed longer = stream(body + ", \"stream\": true}");
        HttpResponse<String> whole = post("/v1/completions", body + "}");
        assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
        JsonNode answer = json.readTree(whole.body());
        assertThat(answer.get("choices").get(0).get("text").asString()).isEqualTo(longer.text());
        assertThat(answer.get("usage").get("completion_tokens").asInt()).isEqualTo(300);
        assertThat(answer.get("choices").get(0).get("logprobs").get("tokens").size()).isEqualTo(300);
        assertThat(longer.tokens()).isEqualTo(300);
        assertThat(longer.chunks()).as("chunks of 300 tokens: kept drafts arrive with their step's token")
                .isLessThan(300);

        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port
                + "/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.body()).contains("# TYPE vllm:spec_decode_num_drafts_total counter",
                "vllm:spec_decode_num_draft_tokens_total{", "vllm:spec_decode_num_accepted_tokens_per_pos_total{");
        Matcher m = Pattern.compile("(?m)^vllm:spec_decode_num_accepted_tokens_total\\{[^}]*} (\\S+)$")
                .matcher(metrics.body());
        assertThat(m.find()).as(metrics.body()).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isGreaterThan(0);
    }
}
