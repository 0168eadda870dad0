package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Chat text sent over HTTP is data: Jinja in a message, role, name or {@code chat_template_kwargs}
 * value comes back from /tokenize + /detokenize exactly as sent, never executed (it once read
 * /etc/passwd and the server's application.yml into the prompt).
 */
class TemplateInjectionApiTest extends Stories260KServerTest {
    private static final String INCLUDE_PASSWD = "{% include 'file:///etc/passwd' %}";
    private static final String INCLUDE_CONFIG = "{% include 'application.yml' %}";
    private static final String SEVEN_SEVENS = "{{ 7*7 }}";

    @Test
    void includeAndArithmeticInAMessageComeBackLiterally() throws Exception {
        String prompt = roundTrip(List.of(Map.of("role", "user", "content", INCLUDE_PASSWD)), Map.of());
        assertThat(prompt).contains("user: " + INCLUDE_PASSWD).doesNotContain("root:");
        prompt = roundTrip(List.of(Map.of("role", "user", "content", SEVEN_SEVENS)), Map.of());
        assertThat(prompt).contains("user: " + SEVEN_SEVENS).doesNotContain("49");
    }

    @Test
    void everyHostileFieldComesBackLiterally() throws Exception {
        for (String hostile : List.of(INCLUDE_PASSWD, INCLUDE_CONFIG, SEVEN_SEVENS, "What does {{ name }} mean?",
                "{# comment #}", "{%raw%}", "{% for i in range(99999999) %}x{% endfor %}")) {
            Map<String, Object> user = new LinkedHashMap<>();
            user.put("role", "user");
            user.put("content", hostile);
            user.put("name", hostile);
            String prompt = roundTrip(List.of(Map.of("role", "system", "content", hostile), user),
                    Map.of("anything", hostile));
            assertThat(prompt).as(hostile).contains("system: " + hostile + "\nuser: " + hostile + "\nassistant:");
            assertThat(prompt.replace(hostile, "")).as(hostile)
                    .doesNotContain("root:", "quire:", "49", "xxxxxxxxxx");
        }
    }

    @Test
    void aRoleIsNotExecutedEither() throws Exception {
        String prompt = roundTrip(List.of(Map.of("role", SEVEN_SEVENS, "content", "Hi")), Map.of());
        assertThat(prompt).contains(SEVEN_SEVENS + ": Hi").doesNotContain("49");
    }

    /** A prompt past the template's output bound is the client's error: 400 in OpenAI's shape, no 500. */
    @Test
    void anOversizedRenderIsABadRequest() throws Exception {
        String body = json.writeValueAsString(Map.of("model", MODEL,
                "messages", List.of(Map.of("role", "user", "content", "a".repeat(17 << 20)))));
        HttpResponse<String> r = post("/tokenize", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode error = json.readTree(r.body()).get("error");
        assertThat(error.get("type").asString()).isEqualTo("BadRequestError");
        assertThat(error.get("param").asString()).isEqualTo("messages");
        assertThat(error.get("message").asString()).startsWith("chat template: ").contains("longer than");
    }

    /** The chat rendered by /tokenize, decoded again by /detokenize. */
    private String roundTrip(List<Map<String, Object>> messages, Map<String, Object> kwargs) throws Exception {
        JsonNode tokens = postJson("/tokenize", json.writeValueAsString(Map.of("model", MODEL, "messages", messages,
                "chat_template_kwargs", kwargs)));
        JsonNode text = postJson("/detokenize", json.writeValueAsString(Map.of("model", MODEL,
                "tokens", tokens.get("tokens"))));
        return text.get("prompt").asString();
    }
}
