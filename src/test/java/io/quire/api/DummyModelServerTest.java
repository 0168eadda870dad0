package io.quire.api;

import io.quire.KvLeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** The built-in random-weight model (the default {@code quire.model}) under a chosen served name. */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=32MB", "quire.max-model-len=256", "quire.served-model-name=tiny-llama"})
class DummyModelServerTest {
    @LocalServerPort
    int port;
    @Autowired
    JsonMapper json;

    private final HttpClient http = HttpClient.newHttpClient();

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path));
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesTheDummyModel() throws Exception {
        JsonNode models = json.readTree(send(request("/v1/models")).body());
        assertThat(models.get("data").get(0).get("id").asString()).isEqualTo("tiny-llama");
        assertThat(models.get("data").get(0).get("max_model_len").asInt()).isEqualTo(256);

        HttpResponse<String> r = send(request("/v1/chat/completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"model": "tiny-llama", "messages": [{"role": "user", "content": "Hello"}],
                         "max_tokens": 5, "ignore_eos": true}""")));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = json.readTree(r.body());
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(5);
        assertThat(body.get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");

        HttpResponse<String> oldName = send(request("/v1/completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"quire-dummy\", \"prompt\": \"Hi\"}")));
        assertThat(oldName.statusCode()).isEqualTo(404);
    }
}
