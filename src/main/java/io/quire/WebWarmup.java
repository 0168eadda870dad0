package io.quire;

import io.quire.engine.LLMEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContext;
import org.springframework.core.env.Environment;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Sends a few short requests through the server's own HTTP API once it listens and before it is
 * ready, as {@code quire.warmup} runs made-up sequences through the model before the web server
 * starts: a fresh server's first completion took about 200 ms more than the next at the client
 * (59 ms of it in the engine), the next few 10-40 ms more, while the JIT compiled the web path
 * (request binding, JSON, the SSE stream). Completions and chat completions, streamed and not, in
 * turn, at most {@code quire.warmup-requests} of them within {@code quire.warmup}. Meanwhile
 * {@link WarmupGate} answers everyone else 503, and the engine's metrics do not count them. A
 * failed request is logged and skipped: the warm-up never keeps the server from starting.
 */
final class WebWarmup implements ApplicationRunner {
    private static final Logger log = LoggerFactory.getLogger(WebWarmup.class);

    private final LLMEngine engine;
    private final WarmupGate gate;
    private final int maxRequests;
    private final Duration budget;
    private final String apiKey;
    private final ApplicationContext context;
    private final Environment env;
    private final JsonMapper json;

    WebWarmup(LLMEngine engine, WarmupGate gate, int maxRequests, Duration budget, List<String> apiKeys,
              ApplicationContext context, Environment env, JsonMapper json) {
        this.engine = engine;
        this.gate = gate;
        this.maxRequests = maxRequests;
        this.budget = budget;
        this.apiKey = apiKeys.stream().filter(k -> k != null && !k.isBlank()).map(String::strip).findFirst().orElse(null);
        this.context = context;
        this.env = env;
        this.json = json;
    }

    /** Whether a warm-up will run with these settings (else the gate starts open). */
    static boolean enabled(int maxRequests, Duration budget) {
        return maxRequests > 0 && !budget.isZero() && !budget.isNegative();
    }

    @Override
    public void run(ApplicationArguments args) {
        if (gate.isOpen()) return;
        try {
            URI base = baseUri();
            if (base == null) return;
            engine.countInMetrics(false);
            warmUp(base);
        } finally {
            engine.countInMetrics(true);
            gate.open();
        }
    }

    private void warmUp(URI base) {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        long start = System.nanoTime(), deadline = start + budget.toNanos();
        int sent = 0, failed = 0;
        try {
            for (; sent < maxRequests && System.nanoTime() < deadline; sent++) {
                boolean chat = sent % 4 >= 2, stream = sent % 2 == 0;
                String body = json.writeValueAsString(chat
                        ? Map.of("model", engine.modelName(), "messages", List.of(Map.of("role", "user", "content", "Hello")),
                                "max_tokens", 2, "stream", stream)
                        : Map.of("model", engine.modelName(), "prompt", "Hello", "max_tokens", 2, "stream", stream));
                HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(chat ? "/v1/chat/completions" : "/v1/completions"))
                        .timeout(Duration.ofNanos(Math.max(deadline - System.nanoTime(), 1_000_000_000L)))
                        .header("Content-Type", "application/json")
                        .header(WarmupGate.HEADER, gate.token())
                        .POST(HttpRequest.BodyPublishers.ofString(body));
                if (apiKey != null) request.header("Authorization", "Bearer " + apiKey);
                HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200) {
                    failed++;
                    log.debug("Warm-up request {} got {}: {}", sent, response.statusCode(), response.body());
                }
            }
            log.info("Warm-up: {} requests through the HTTP API in {} ms{}, so the first clients find the web path"
                    + " compiled (quire.warmup-requests)", sent, (System.nanoTime() - start) / 1_000_000,
                    failed > 0 ? " (" + failed + " not answered 200)" : "");
        } catch (IOException e) {
            log.warn("Warm-up requests stopped after {}: {}", sent, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            client.shutdownNow();  // every request has ended (or timed out): nothing to wait for
        }
    }

    /** Where the server listens, as a client on this machine reaches it; null (and a log line) if it cannot. */
    private URI baseUri() {
        if (!(context instanceof WebServerApplicationContext web) || web.getWebServer() == null) return null;
        if (env.getProperty("server.ssl.enabled", Boolean.class, false)
                || env.getProperty("server.ssl.bundle") != null) {
            log.info("No warm-up requests over TLS (server.ssl): the first requests compile the web path");
            return null;
        }
        int port = web.getWebServer().getPort();
        if (port <= 0) return null;
        String address = env.getProperty("server.address", "");
        String host = address.isBlank() || address.equals("0.0.0.0") ? "127.0.0.1"
                : address.equals("::") || address.equals("[::]") ? "[::1]"
                : address.contains(":") && !address.startsWith("[") ? "[" + address + "]" : address;
        return URI.create("http://" + host + ":" + port);
    }
}
