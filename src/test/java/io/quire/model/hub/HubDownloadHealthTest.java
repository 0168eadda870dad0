package io.quire.model.hub;

import io.quire.QuireApplication;
import io.quire.SharedFiles;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code quire.model=Org/Name} on a fixed port: while the file downloads (the stand-in Hub holds it
 * back part way), the port already answers {@code /health} with 503, the phase "downloading", the
 * file and its percentage, and readiness stays down; once the download ends, the server loads the
 * file and becomes ready on the same port.
 */
class HubDownloadHealthTest {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void healthReportsTheDownloadThenTheServerBecomesReady() throws Exception {
        byte[] file = Files.readAllBytes(SharedFiles.stories260K());
        Path home = Files.createTempDirectory("quire-hf-home");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (FakeHub hub = new FakeHub()) {
            hub.add(HubPullTest.REPO, HubPullTest.COMMIT, new FakeHub.File("stories260K.gguf", file));
            CountDownLatch resume = new CountDownLatch(1);
            hub.pauseAfter = file.length / 4;
            hub.pause = resume;
            CompletableFuture<ConfigurableApplicationContext> app = CompletableFuture.supplyAsync(() ->
                    new SpringApplicationBuilder(QuireApplication.class).run("--server.port=" + port,
                            "--server.address=127.0.0.1", "--quire.model=" + HubPullTest.REPO,
                            "--quire.kv-cache-memory=16MB", "--HF_ENDPOINT=" + hub.endpoint(), "--HF_HOME=" + home));
            try {
                HttpResponse<String> health = null;
                for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); System.nanoTime() < end; ) {
                    try {
                        health = get(port, "/health");
                        if (health.body().contains("\"progress\":25")) break;
                    } catch (java.net.ConnectException notYet) {
                        // the server has not opened the port yet
                    }
                    Thread.sleep(50);
                }
                assertThat(health).as("an answer on the port during the download").isNotNull();
                assertThat(health.statusCode()).isEqualTo(503);
                assertThat(health.body()).isEqualTo("{\"status\":\"loading\",\"phase\":\"downloading\","
                        + "\"file\":\"stories260K.gguf\",\"progress\":25.0}");
                assertThat(get(port, "/actuator/health/readiness").statusCode()).isEqualTo(503);
                assertThat(app).isNotDone();

                resume.countDown();
                try (ConfigurableApplicationContext context = app.get(120, TimeUnit.SECONDS)) {
                    HttpResponse<String> ready = get(port, "/actuator/health/readiness");
                    assertThat(ready.statusCode()).isEqualTo(200);
                    assertThat(get(port, "/v1/models").body()).contains("\"id\":\"" + HubPullTest.REPO + "\"");
                }
            } finally {
                resume.countDown();
                app.cancel(true);
            }
        }
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
