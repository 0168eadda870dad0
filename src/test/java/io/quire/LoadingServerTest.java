package io.quire;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What the port answers while the model loads, over real HTTP: {@link LoadingServer}. */
class LoadingServerTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ModelLoadProgress progress = new ModelLoadProgress("test-model");
    private final LoadingServer loading = new LoadingServer(progress);

    @AfterEach
    void close() {
        loading.close();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + loading.port() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthSays503WithThePercentageReadThenStartingOnceTheFileIsRead() throws Exception {
        assertThat(loading.open(InetAddress.getLoopbackAddress(), 0)).isTrue();
        progress.read(42, 100);
        HttpResponse<String> health = get("/health");
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(health.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(health.body()).isEqualTo("{\"status\":\"loading\",\"phase\":\"reading\",\"progress\":42.0}");

        progress.read(100, 100);
        assertThat(get("/health").body()).isEqualTo("{\"status\":\"loading\",\"phase\":\"starting\",\"progress\":100.0}");
    }

    @Test
    void probesSeeReadinessDownAndLivenessUp() throws Exception {
        loading.open(InetAddress.getLoopbackAddress(), 0);
        assertThat(get("/actuator/health/readiness").statusCode()).isEqualTo(503);
        assertThat(get("/actuator/health").statusCode()).isEqualTo(503);
        HttpResponse<String> live = get("/actuator/health/liveness");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(live.body()).isEqualTo("{\"status\":\"UP\"}");
    }

    @Test
    void thePlaygroundIsServedAndTheApiSaysItIsLoading() throws Exception {
        loading.open(InetAddress.getLoopbackAddress(), 0);
        progress.read(1, 4);
        HttpResponse<String> page = get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
        assertThat(page.body()).contains("id=\"kv-map\"", "playground/app.js");
        assertThat(get("/playground/app.js").body()).contains("watchHealth");
        assertThat(get("/playground/style.css").headers().firstValue("content-type")).hasValue("text/css; charset=utf-8");

        HttpResponse<String> api = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + loading.port()
                        + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(api.statusCode()).isEqualTo(503);
        assertThat(api.headers().firstValue("retry-after")).hasValue("5");
        assertThat(api.body()).startsWith("{\"error\":{\"message\":\"The model is still loading (25.0 % read); try again"
                + " shortly.\",\"type\":\"ServiceUnavailableError\"");
    }

    @Test
    void onlyThePlaygroundsOwnFilesAreServed() throws Exception {
        loading.open(InetAddress.getLoopbackAddress(), 0);
        for (String path : new String[] {"/application.yml", "/playground/..%2Fapplication.yml",
                "/playground/missing.js", "/static/index.html", "/playground/app.js.map"}) {
            HttpResponse<String> r = get(path);
            assertThat(r.statusCode()).as(path).isIn(404, 503);
            assertThat(r.body()).as(path).doesNotContain("quire:").startsWith("{\"error\":");
        }
    }

    @Test
    void theApplicationsStartHandsThePortOverAndATakenPortIsLeftAlone() throws Exception {
        loading.open(InetAddress.getLoopbackAddress(), 0);
        int port = loading.port();
        assertThat(loading.isRunning()).isFalse();
        loading.start();
        assertThat(loading.isRunning()).isTrue();
        assertThatThrownBy(() -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                .build(), HttpResponse.BodyHandlers.ofString())).isInstanceOf(ConnectException.class);
        assertThat(loading.open(InetAddress.getLoopbackAddress(), port)).as("never reopens").isFalse();

        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            LoadingServer other = new LoadingServer(progress);
            assertThat(other.open(InetAddress.getLoopbackAddress(), taken.getLocalPort())).isFalse();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
