package io.quire.cli.bench;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/**
 * Counts tokens with the server's own tokenizer through vLLM's {@code POST /tokenize}
 * ({@code {"model", "prompt"}} to {@code {"count", ...}}; Quire has the same endpoint). A
 * response with only a {@code tokens} array (llama.cpp's shape) is counted by its length.
 */
public final class ServerTokenCounter implements TokenCounter {
    private final HttpClient http;
    private final JsonMapper json;
    private final URI uri;
    private final String model;
    private final Duration timeout;

    public ServerTokenCounter(HttpClient http, JsonMapper json, URI uri, String model, Duration timeout) {
        this.http = http;
        this.json = json;
        this.uri = uri;
        this.model = model;
        this.timeout = timeout;
    }

    /** The counter when {@code uri} answers a test prompt with a count, else empty. */
    public static Optional<ServerTokenCounter> probe(HttpClient http, JsonMapper json, URI uri, String model,
                                                     Duration timeout) {
        ServerTokenCounter counter = new ServerTokenCounter(http, json, uri, model, timeout);
        try {
            return counter.count("hello world") > 0 ? Optional.of(counter) : Optional.empty();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public int count(String text) {
        ObjectNode body = json.createObjectNode();
        if (model != null) body.put("model", model);
        body.put("prompt", text);
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)))
                .build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException("tokenize request to " + uri + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while tokenizing", e);
        }
        if (response.statusCode() != 200) {
            throw new IllegalStateException("tokenize at " + uri + " answered HTTP " + response.statusCode());
        }
        try {
            JsonNode node = json.readTree(response.body());
            if (node.path("count").isNumber()) return node.path("count").asInt();
            if (node.path("tokens").isArray()) return node.path("tokens").size();
        } catch (JacksonException e) {
            // falls through to the error below
        }
        throw new IllegalStateException("tokenize at " + uri + " gave no count: " + response.body());
    }

    @Override
    public String describe() {
        return "server tokenizer (" + uri + ")";
    }
}
