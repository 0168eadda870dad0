package io.quire.api;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every route that needs the API key when one is configured, each with a request it answers 200:
 * the OpenAI ones (embeddings and responses included), vLLM's tokenizer pair and the KV report.
 */
final class ProtectedRoutes {
    record Route(String method, String path, String body) {
        HttpRequest.Builder request(int port) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                    .timeout(Duration.ofSeconds(60));
            if (body == null) return b.GET();
            return b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        }

        @Override
        public String toString() { return method + " " + path; }
    }

    private ProtectedRoutes() {}

    static List<Route> of(String model) {
        return List.of(
                new Route("POST", "/v1/completions", """
                        {"model": "%s", "prompt": "Once upon a time", "max_tokens": 2}""".formatted(model)),
                new Route("POST", "/v1/chat/completions", """
                        {"model": "%s", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}""".formatted(model)),
                new Route("POST", "/v1/responses", """
                        {"model": "%s", "input": "Hi", "max_output_tokens": 2}""".formatted(model)),
                new Route("POST", "/v1/embeddings", """
                        {"model": "%s", "input": "Once upon a time"}""".formatted(model)),
                new Route("POST", "/score", """
                        {"model": "%s", "text_1": "Once upon a time", "text_2": "a cat"}""".formatted(model)),
                new Route("POST", "/v1/rerank", """
                        {"model": "%s", "query": "Once upon a time", "documents": ["a cat"]}""".formatted(model)),
                new Route("GET", "/v1/models", null),
                new Route("GET", "/v1/models/" + model, null),
                new Route("POST", "/tokenize", """
                        {"model": "%s", "prompt": "Once upon a time"}""".formatted(model)),
                new Route("POST", "/detokenize", """
                        {"model": "%s", "tokens": [1, 2, 3]}""".formatted(model)),
                new Route("GET", "/kv/report", null));
    }

    /**
     * On every route: 401 in OpenAI's shape with a Bearer challenge without a key, with a wrong
     * key and with a malformed header; 200 with each of {@code keys}.
     */
    static void check(HttpClient http, int port, String model, String... keys) throws Exception {
        for (Route route : of(model)) {
            assertUnauthorized(http.send(route.request(port).build(), HttpResponse.BodyHandlers.ofString()), route
                    + " without a key", null);
            assertUnauthorized(http.send(route.request(port).header("Authorization", "Bearer not-" + keys[0]).build(),
                    HttpResponse.BodyHandlers.ofString()), route + " with a wrong key", "invalid_token");
            for (String malformed
                    : new String[] {keys[0], "Basic " + keys[0], "Bearer", "Bearer " + keys[0] + " extra"}) {
                assertUnauthorized(http.send(route.request(port).header("Authorization", malformed).build(),
                        HttpResponse.BodyHandlers.ofString()), route + " with Authorization: " + malformed,
                        "invalid_request");
            }
            for (String key : keys) {
                HttpResponse<String> ok = http.send(route.request(port).header("Authorization", "Bearer " + key)
                        .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(ok.statusCode()).as(route + " with key " + key + ": " + ok.body()).isEqualTo(200);
            }
            // The scheme is case-insensitive (RFC 7235).
            HttpResponse<String> lower = http.send(route.request(port).header("Authorization", "bearer " + keys[0])
                    .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(lower.statusCode()).as(route + " with 'bearer'").isEqualTo(200);
        }
    }

    static void assertUnauthorized(HttpResponse<String> r, String what, String bearerError) {
        assertThat(r.statusCode()).as(what + ": " + r.body()).isEqualTo(401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).as(what)
                .hasValue(bearerError == null ? "Bearer" : "Bearer error=\"" + bearerError + "\"");
        assertThat(r.headers().firstValue("Content-Type")).as(what)
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        assertThat(r.body()).as(what)
                .matches("\\{\"error\":\\{\"message\":\"[^\"]+\",\"type\":\"AuthenticationError\","
                        + "\"param\":null,\"code\":401}}");
    }
}
