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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sends short requests through the server's own HTTP API once it listens and before it is ready, as
 * {@code quire.warmup} runs made-up sequences through the model before the web server starts. The
 * web path (request binding, JSON, Reactor, Netty, the SSE stream, the engine's per-request code) runs
 * in the interpreter until a method has been called a few hundred times: a fresh server's first
 * completion took about 200 ms more than the next at the client, and with 16 warm-up requests the
 * JIT still compiled some 1,400 methods of that path during the first 24 short-prompt requests
 * (docs/performance.md, thirty-fifth session). Completions and chat completions, streamed and not,
 * greedy and sampled, in turn, {@value #CONCURRENCY} at a time (the engine batches them, so a
 * forward pass serves several), at most {@code quire.warmup-requests} of them within
 * {@code quire.warmup-requests-time}. Meanwhile {@link WarmupGate} answers everyone else 503, and
 * the engine's metrics do not count them. A failed request is logged and skipped: the warm-up never
 * keeps the server from starting.
 */
final class WebWarmup implements ApplicationRunner {
    private static final Logger log = LoggerFactory.getLogger(WebWarmup.class);
    /** Requests in flight at once: the engine batches them, so one forward pass serves several. */
    static final int CONCURRENCY = 4;
    private static final String PROMPT = "Hello";
    private static final int MAX_TOKENS = 3;

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
    static boolean enabled(Duration engineWarmup, int maxRequests, Duration budget) {
        return positive(engineWarmup) && maxRequests > 0 && positive(budget);
    }

    private static boolean positive(Duration d) {
        return !d.isZero() && !d.isNegative();
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
        AtomicInteger next = new AtomicInteger(), sent = new AtomicInteger(), failed = new AtomicInteger();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < CONCURRENCY; c++) {
            clients.add(Thread.ofPlatform().name("quire-warmup-" + c).daemon().start(() -> {
                try {
                    for (int i; (i = next.getAndIncrement()) < maxRequests && System.nanoTime() < deadline; ) {
                        HttpResponse<String> response = client.send(request(base, i, deadline), HttpResponse.BodyHandlers.ofString());
                        sent.incrementAndGet();
                        if (response.statusCode() != 200) {
                            failed.incrementAndGet();
                            log.debug("Warm-up request {} got {}: {}", i, response.statusCode(), response.body());
                        }
                    }
                } catch (IOException e) {
                    log.warn("Warm-up requests of one client stopped: {}", e.toString());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        try {
            for (Thread t : clients) t.join();
            log.info("Warm-up: {} requests through the HTTP API in {} ms{}, so the first clients find the web path"
                    + " compiled (quire.warmup-requests)", sent.get(), (System.nanoTime() - start) / 1_000_000,
                    failed.get() > 0 ? " (" + failed.get() + " not answered 200)" : "");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            client.shutdownNow();  // every request has ended (or timed out): nothing to wait for
        }
    }

    /**
     * Request {@code i}: completions and chat, streamed and not, greedy and sampled, and half of them with
     * the fields OpenAI's clients and benchmarks often add (a logit bias, a stop string, {@code stream_options}
     * with usage, chat's {@code max_completion_tokens}), in turn, so each of these paths has run dozens of
     * times.
     */
    private HttpRequest request(URI base, int i, long deadline) {
        boolean chat = i % 4 >= 2, stream = i % 2 == 0, sampled = i % 8 >= 4, extras = i % 16 >= 8;
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", engine.modelName());
        if (chat) body.put("messages", List.of(Map.of("role", "user", "content", PROMPT)));
        else body.put("prompt", PROMPT);
        body.put(chat && extras ? "max_completion_tokens" : "max_tokens", MAX_TOKENS);
        body.put("stream", stream);
        if (stream && extras) body.put("stream_options", Map.of("include_usage", true));
        if (sampled) {
            body.put("temperature", 0.8);
            body.put("top_p", 0.95);
            body.put("seed", i);
        } else {
            body.put("temperature", 0.0);
        }
        if (extras) {
            body.put("logit_bias", Map.of("0", -1));
            body.put("stop", List.of("\n\n"));
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(chat ? "/v1/chat/completions" : "/v1/completions"))
                .timeout(Duration.ofNanos(Math.max(deadline - System.nanoTime(), 1_000_000_000L)))
                .header("Content-Type", "application/json")
                .header(WarmupGate.HEADER, gate.token())
                .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)));
        if (apiKey != null) request.header("Authorization", "Bearer " + apiKey);
        return request.build();
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
