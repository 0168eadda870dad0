package io.quire.model.hub;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** What the Hub server tests check of a server started on stories260K from the Hub: its id and its greedy text. */
final class ServedStories {
    private ServedStories() {}

    /** /v1/models lists {@code id}, and a greedy completion under it gives llama.cpp's continuation. */
    static void assertServedAs(int port, JsonMapper json, String id) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        URI base = URI.create("http://localhost:" + port);
        JsonNode models = json.readTree(http.send(HttpRequest.newBuilder(base.resolve("/v1/models")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        assertThat(models.get("data").get(0).get("id").asString()).isEqualTo(id);
        String body = """
                {"model": "%s", "prompt": "Once upon a time", "max_tokens": 32, "temperature": 0}"""
                .formatted(id);
        JsonNode r = json.readTree(http.send(HttpRequest.newBuilder(base.resolve("/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        assertThat(r.get("choices").get(0).get("text").asString()).isEqualTo(
                ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw");
    }
}
