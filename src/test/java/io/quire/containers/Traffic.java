package io.quire.containers;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;

/** Streaming completions over plain HTTP, as raw SSE lines, so the end of a stream can be checked. */
final class Traffic {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private Traffic() {}

    /** Starts one streaming completion; {@code lines} fills as events arrive, the future ends with the stream. */
    static CompletableFuture<Void> stream(String baseUrl, String prompt, int maxTokens, List<String> lines) {
        String body = """
                {"model":"%s","prompt":"%s","max_tokens":%d,"temperature":0.8,"stream":true}"""
                .formatted(QuireContainer.MODEL, prompt, maxTokens);
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofLines())
                .thenAccept(r -> {
                    r.body().filter(l -> !l.isEmpty()).forEach(lines::add);
                    if (r.statusCode() != 200) {
                        throw new IllegalStateException("HTTP " + r.statusCode() + ": " + String.join("\n", lines));
                    }
                });
    }

    /** {@code n} streams at once, each of {@code maxTokens}; returns when all have ended. */
    static void concurrent(String baseUrl, int n, int maxTokens) {
        streams(baseUrl, n, maxTokens).join();
    }

    /**
     * As {@link #concurrent(String, int, int)}, but throws if a stream fails, answers other than
     * 200, or has not ended within {@code limit} (a stuck stream).
     */
    static void concurrent(String baseUrl, int n, int maxTokens, Duration limit)
            throws InterruptedException, ExecutionException, TimeoutException {
        streams(baseUrl, n, maxTokens).get(limit.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static CompletableFuture<Void> streams(String baseUrl, int n, int maxTokens) {
        return CompletableFuture.allOf(IntStream.range(0, n)
                .mapToObj(i -> stream(baseUrl, "Once upon a time " + i, maxTokens, new CopyOnWriteArrayList<>()))
                .toArray(CompletableFuture[]::new));
    }

    /** A JSON POST's status and body. */
    static HttpResponse<String> post(String url, String json) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A GET's status and body. */
    static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
