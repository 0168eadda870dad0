package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** Models, health, version, tokenizer endpoints and the actuator. */
class ModelsApiTest extends Stories260KServerTest {

    @Test
    void modelsListTheServedModel() throws Exception {
        HttpResponse<String> r = get("/v1/models");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode list = json.readTree(r.body());
        assertThat(list.get("object").asString()).isEqualTo("list");
        assertThat(list.get("data").size()).isEqualTo(1);
        JsonNode card = list.get("data").get(0);
        assertThat(card.get("id").asString()).isEqualTo(MODEL);
        assertThat(card.get("object").asString()).isEqualTo("model");
        assertThat(card.get("owned_by").asString()).isEqualTo("quire");
        assertThat(card.get("max_model_len").asInt()).isEqualTo(512);
        assertThat(card.get("created").asLong()).isPositive();
        assertThat(json.readTree(get("/v1/models/stories260K").body())).isEqualTo(card);
        assertThat(get("/v1/models/gpt-4").statusCode()).isEqualTo(404);
    }

    @Test
    void healthAndVersion() throws Exception {
        HttpResponse<String> health = get("/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).isEmpty();
        HttpResponse<String> version = get("/version");
        assertThat(version.statusCode()).isEqualTo(200);
        assertThat(json.readTree(version.body()).get("version").asString()).isNotBlank().isNotEqualTo("unknown");
    }

    @Test
    void tokenizeAndDetokenizeTheReferencePrompt() throws Exception {
        JsonNode t = postJson("/tokenize", """
                {"model": "stories260K", "prompt": "Once upon a time"}""");
        assertThat(t.get("count").asInt()).isEqualTo(5);
        assertThat(t.get("max_model_len").asInt()).isEqualTo(512);
        assertThat(json.writeValueAsString(t.get("tokens"))).isEqualTo("[1,403,407,261,378]");
        JsonNode noBos = postJson("/tokenize", """
                {"prompt": "Once upon a time", "add_special_tokens": false}""");
        assertThat(json.writeValueAsString(noBos.get("tokens"))).isEqualTo("[403,407,261,378]");
        JsonNode d = postJson("/detokenize", """
                {"model": "stories260K", "tokens": [1, 403, 407, 261, 378]}""");
        assertThat(d.get("prompt").asString()).isEqualTo("Once upon a time");
        HttpResponse<String> bad = post("/detokenize", """
                {"tokens": [1, 99999]}""");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json.readTree(bad.body()).get("error").get("param").asString()).isEqualTo("tokens");
    }

    @Test
    void actuatorExposesReadinessAndPrometheus() throws Exception {
        HttpResponse<String> readiness = get("/actuator/health/readiness");
        assertThat(readiness.statusCode()).isEqualTo(200);
        JsonNode body = json.readTree(readiness.body());
        assertThat(body.get("status").asString()).isEqualTo("UP");
        // Statuses only: details are for API-key holders (HealthDetailsApiTest, ApiKeyApiTest).
        assertThat(body.get("components").get("model").get("status").asString()).isEqualTo("UP");
        HttpResponse<String> prometheus = get("/actuator/prometheus");
        assertThat(prometheus.statusCode()).isEqualTo(200);
        assertThat(prometheus.body()).contains("model_name=\"stories260K\"");
        assertThat(get("/actuator/info").statusCode()).isEqualTo(200);
        assertThat(get("/actuator/metrics").statusCode()).isEqualTo(200);
    }
}
