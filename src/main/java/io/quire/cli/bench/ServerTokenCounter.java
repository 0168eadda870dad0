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
 * response with only a {@code tokens} array is counted by its length. llama.cpp's server takes
 * {@code {"content", "add_special"}} instead (and answers an empty array to a {@code prompt}): when
 * the vLLM form counts nothing, {@link #probe} switches to that form, with the special tokens
 * (BOS) its completions add.
 */
public final class ServerTokenCounter implements TokenCounter {
    private final HttpClient http;
    private final JsonMapper json;
    private final URI uri;
    private final String model;
    private final Duration timeout;
    private boolean llamaCppForm;

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
        for (boolean llamaCpp : new boolean[] {false, true}) {
            counter.llamaCppForm = llamaCpp;
            try {
                if (counter.count("hello world") > 0) return Optional.of(counter);
            } catch (RuntimeException e) {
                // try the other form, then give up
            }
        }
        return Optional.empty();
    }

    @Override
    public int count(String text) {
        ObjectNode body = json.createObjectNode();
        if (llamaCppForm) {
            body.put("content", text);
            body.put("add_special", true);
        } else {
            if (model != null) body.put("model", model);
            body.put("prompt", text);
        }
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
        return "server tokenizer (" + uri + (llamaCppForm ? ", llama.cpp's content form" : "") + ")";
    }
}
