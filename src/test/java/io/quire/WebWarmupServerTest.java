package io.quire;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A started server has sent its own warm-up requests through the HTTP API and the engine before its
 * first client (the engine has run steps), and counted none of them: neither the engine's metrics
 * nor {@code http.server.requests} show them, while a client's request counts as usual. All 16 kinds of
 * warm-up request (completions and chat, streamed and not, greedy and sampled, with and without the
 * optional fields) were answered 200: one the API refused would leave its path cold.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=8MB", "quire.warmup-requests=16"})
@ExtendWith(OutputCaptureExtension.class)
class WebWarmupServerTest {
    @LocalServerPort
    int port;

    private final HttpClient http = HttpClient.newHttpClient();

    private String get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path).isEqualTo(200);
        return r.body();
    }

    private static double sum(String prometheus, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "(\\{[^}]*})? ([0-9.eE+-]+)$").matcher(prometheus);
        double total = 0;
        while (m.find()) total += Double.parseDouble(m.group(2));
        return total;
    }

    @Test
    void theWarmupRanThroughTheEngineAndCountsNowhere(CapturedOutput output) throws Exception {
        assertThat(output.getAll()).contains("Warm-up: 16 requests through the HTTP API")
                .doesNotContain("not answered 200").doesNotContain("Warm-up requests of one client stopped");

        Matcher step = Pattern.compile("\"step\":(\\d+)").matcher(get("/kv/report"));
        assertThat(step.find()).isTrue();
        assertThat(Long.parseLong(step.group(1))).as("engine steps before any client request").isPositive();

        String metrics = get("/actuator/prometheus");
        assertThat(sum(metrics, "quire_request_success_total")).isZero();
        assertThat(sum(metrics, "quire_prompt_tokens_total")).isZero();
        assertThat(sum(metrics, "quire_time_to_first_token_seconds_count")).isZero();
        assertThat(metrics).doesNotContain("uri=\"/v1/completions\"").doesNotContain("uri=\"/v1/chat/completions\"");

        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"quire-dummy\",\"prompt\":\"Hi\",\"max_tokens\":2}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        metrics = get("/actuator/prometheus");
        assertThat(sum(metrics, "quire_request_success_total")).isEqualTo(1.0);
        assertThat(metrics).contains("uri=\"/v1/completions\"");
    }
}
