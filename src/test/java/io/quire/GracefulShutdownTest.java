package io.quire;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * SIGTERM to a started server process during long streams: readiness goes out of service and new
 * requests get 503, a request that can finish within the grace period does, the others end with a
 * {@code finish_reason: "abort"} chunk and {@code [DONE]}, and the process exits soon after.
 */
// Starts a server JVM and streams through its shutdown: 20-40 s. Not in the quick run (-Pquick).
@Tag("slow")
class GracefulShutdownTest {
    private static final int STREAMS = 20;
    private static final int GRACE_SECONDS = 3;

    @TempDir
    Path tmp;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    /** One stream's SSE lines, read on its own thread until the server closes it. */
    private record Stream(List<String> lines, CompletableFuture<Void> done) {
        boolean started() {
            return lines.stream().anyMatch(l -> l.contains("\"text\":\"") && !l.contains("\"text\":\"\""));
        }

        String lastChunk() {
            for (int i = lines.size() - 1; i >= 0; i--) {
                String l = lines.get(i);
                if (l.startsWith("data: {")) return l;
            }
            return "";
        }
    }

    private Stream open(int port, int maxTokens) {
        String body = """
                {"model": "quire-dummy", "prompt": "Once upon a time", "max_tokens": %d, "ignore_eos": true,
                 "stream": true}""".formatted(maxTokens);
        List<String> lines = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> done = http
                .sendAsync(request(port, "/v1/completions", body), HttpResponse.BodyHandlers.ofInputStream())
                .thenAcceptAsync(r -> {
                    try (InputStream in = r.body();
                         var reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                        for (String line; (line = reader.readLine()) != null; ) if (!line.isEmpty()) lines.add(line);
                    } catch (Exception e) {
                        lines.add("read failed: " + e);
                    }
                });
        return new Stream(lines, done);
    }

    private static HttpRequest request(int port, String path, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(120));
        return body == null ? b.GET().build()
                : b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static String readOrEmpty(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private int status(int port, String path, String body) {
        try {
            return http.send(request(port, path, body), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void sigtermLetsShortRequestsFinishAndEndsEveryOtherStreamWithAbortAndDone() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path log = tmp.resolve("server.log");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = List.of(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dorg.bytedeco.javacpp.cachedir=" + tmp.resolve("javacpp"),
                "-cp", System.getProperty("java.class.path"), QuireApplication.class.getName(),
                "--quire.model=dummy", "--server.address=127.0.0.1", "--server.port=" + port,
                "--quire.shutdown-grace=" + GRACE_SECONDS + "s", "--quire.device=cpu");
        Process server = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await("the server ready").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
                    .failFast("the server exited at startup", () -> assertThat(server.isAlive())
                            .as(() -> "server alive; its log:\n" + readOrEmpty(log)).isTrue())
                    .until(() -> status(port, "/health", null) == 200);
            // Before its first request the server warmed its kernels up, and once ready it collected once.
            await("the collection once ready").atMost(Duration.ofSeconds(30))
                    .until(() -> readOrEmpty(log).contains("Collected once ready;"));
            assertThat(readOrEmpty(log)).contains("Warm-up: ", "forward passes of made-up sequences");
            List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) streams.add(open(port, 2000));
            await("every stream started").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                    .until(() -> streams.stream().allMatch(Stream::started));
            // The short request must be running when SIGTERM comes (admitted, not yet done) and must
            // fit in the grace period: size it to about one second at the speed measured now.
            int before = streams.getFirst().lines().size();
            Thread.sleep(500);
            int perSecond = 2 * (streams.getFirst().lines().size() - before);
            int shortTokens = Math.clamp(perSecond, 4, 1000);
            Stream shortOne = open(port, shortTokens);
            await("the short request started").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(5))
                    .until(shortOne::started);
            boolean shortDoneBeforeSigterm = shortOne.done().isDone();

            long sigterm = System.nanoTime();
            server.destroy(); // SIGTERM
            // While the running requests have their grace period: out of service, new requests refused
            // (so this waits at most that long: after it the server is gone).
            await("503s during the grace period").atMost(Duration.ofSeconds(GRACE_SECONDS))
                    .pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
                        assertThat(status(port, "/actuator/health/readiness", null)).as("readiness").isEqualTo(503);
                        assertThat(status(port, "/health", null)).as("/health").isEqualTo(503);
                        assertThat(status(port, "/v1/completions", """
                                {"model": "quire-dummy", "prompt": "Too late", "max_tokens": 4}"""))
                                .as("a new completion").isEqualTo(503);
                    });

            shortOne.done().get(GRACE_SECONDS + 10, TimeUnit.SECONDS);
            assertThat(shortOne.lastChunk()).as("a request that fits in the grace period finishes")
                    .contains("\"finish_reason\":\"length\"");
            assertThat(shortOne.lines().getLast()).isEqualTo("data: [DONE]");
            assertThat(shortDoneBeforeSigterm).as("the short request (%d tokens) was still running at SIGTERM",
                    shortTokens).isFalse();
            for (Stream s : streams) {
                s.done().get(GRACE_SECONDS + 15, TimeUnit.SECONDS);
                assertThat(s.lastChunk()).as("last chunk of a cut stream").contains("\"finish_reason\":\"abort\"");
                assertThat(s.lines().getLast()).isEqualTo("data: [DONE]");
            }
            assertThat(server.waitFor(GRACE_SECONDS + 10, TimeUnit.SECONDS)).as("the process exits").isTrue();
            long exitedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
            System.out.printf("SIGTERM: %d streams ended with abort + [DONE], a %d-token request finished,"
                    + " process exited %d ms later (grace %d s)%n",
                    STREAMS, shortTokens, exitedAfter, GRACE_SECONDS);
            assertThat(exitedAfter).as("ms from SIGTERM to exit").isLessThan((GRACE_SECONDS + 10) * 1000L);
            assertThat(Files.readString(log)).doesNotContain("\tat ");
        } finally {
            if (server.isAlive()) server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            if (Files.exists(log)) System.out.println(Files.readString(log));
        }
    }
}
