package io.quire.api;

import io.quire.KvLeakCheck;
import io.quire.engine.structured.StructuredSchemas;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tool_choice} {@code required} and a named function on the built-in random model at
 * temperature 1: only the constraint can make its output a call, and every call it makes names an
 * offered function with arguments that validate against that function's parameters (networknt's
 * validator as the oracle), streamed and not. The server's hermes parser and qwen3 reasoning
 * parser play no part in forced calls (their output is JSON, not a model's call format).
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=64MB", "quire.max-model-len=1024",
        "quire.tool-call-parser=hermes", "quire.reasoning-parser=qwen3"})
class ForcedToolCallsApiTest {
    static final Map<String, String> PARAMETERS = Map.of(
            "get_weather", """
                    {"type":"object","properties":{"city":{"type":"string","maxLength":12},
                     "unit":{"enum":["celsius","fahrenheit"]}},"required":["city","unit"],"additionalProperties":false}""",
            "add", """
                    {"type":"object","properties":{"a":{"type":"integer","minimum":0,"maximum":999},
                     "b":{"type":"integer","minimum":0,"maximum":999}},"required":["a","b"],"additionalProperties":false}""");
    static final String TOOLS = "[" + String.join(", ", PARAMETERS.entrySet().stream().map(e -> """
            {"type": "function", "function": {"name": "%s", "parameters": %s}}""".formatted(e.getKey(), e.getValue()))
            .toList()) + "]";

    @LocalServerPort
    int port;
    @Autowired
    JsonMapper json;
    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> post(String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private String body(String toolChoice, int seed, boolean stream, String more) {
        return """
                {"messages": [{"role": "user", "content": "Call something"}], "tools": %s, "tool_choice": %s,
                 "temperature": 1, "seed": %d, "max_tokens": 800, "stream": %b%s}"""
                .formatted(TOOLS, toolChoice, seed, stream, more);
    }

    /** The calls of one response's first choice, with its finish reason, streamed or not. */
    private record Calls(List<JsonNode> calls, String finishReason, JsonNode content) {}

    private Calls calls(String body, boolean stream) throws Exception {
        HttpResponse<String> r = post(body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        if (!stream) {
            JsonNode choice = json.readTree(r.body()).get("choices").get(0);
            List<JsonNode> calls = new ArrayList<>();
            choice.get("message").path("tool_calls").forEach(calls::add);
            return new Calls(calls, choice.get("finish_reason").asString(), choice.get("message").get("content"));
        }
        List<JsonNode> calls = new ArrayList<>();
        String finish = null;
        StringBuilder content = new StringBuilder();
        for (String line : r.body().split("\n")) {
            if (!line.startsWith("data: {")) continue;
            for (JsonNode choice : json.readTree(line.substring(6)).get("choices")) {
                JsonNode delta = choice.get("delta");
                delta.path("tool_calls").forEach(c -> {
                    assertThat(c.get("index").asInt()).isEqualTo(calls.size());
                    calls.add(c);
                });
                if (delta.has("content")) content.append(delta.get("content").asString());
                if (!choice.get("finish_reason").isNull()) finish = choice.get("finish_reason").asString();
            }
        }
        return new Calls(calls, finish, json.getNodeFactory().stringNode(content.toString()));
    }

    private static void assertValid(JsonNode call) {
        assertThat(call.get("id").asString()).matches("call_[0-9a-f]{24}");
        assertThat(call.get("type").asString()).isEqualTo("function");
        String name = call.get("function").get("name").asString();
        assertThat(PARAMETERS).containsKey(name);
        String arguments = call.get("function").get("arguments").asString();
        assertThat(StructuredSchemas.validate(PARAMETERS.get(name), arguments)).as(arguments).isEmpty();
    }

    @Test
    void requiredAlwaysYieldsCallsThatValidate() throws Exception {
        int calls = 0;
        for (int seed = 0; seed < 24; seed++) {
            boolean stream = seed % 2 == 1;
            Calls c = calls(body("\"required\"", seed, stream, ""), stream);
            assertThat(c.finishReason()).as("seed %d", seed).isEqualTo("tool_calls");
            assertThat(c.calls()).isNotEmpty();
            c.calls().forEach(ForcedToolCallsApiTest::assertValid);
            calls += c.calls().size();
        }
        assertThat(calls).isGreaterThanOrEqualTo(24);
    }

    @Test
    void aNamedFunctionIsTheOneCalledAndParallelFalseMakesOneCall() throws Exception {
        for (int seed = 0; seed < 10; seed++) {
            boolean stream = seed % 2 == 0;
            Calls c = calls(body("{\"type\": \"function\", \"function\": {\"name\": \"add\"}}", seed, stream, ""),
                    stream);
            assertThat(c.finishReason()).isEqualTo("tool_calls");
            assertThat(c.calls()).hasSize(1);
            assertThat(c.calls().getFirst().get("function").get("name").asString()).isEqualTo("add");
            assertValid(c.calls().getFirst());
            Calls one = calls(body("\"required\"", 100 + seed, stream, ", \"parallel_tool_calls\": false"), stream);
            assertThat(one.calls()).hasSize(1);
            assertValid(one.calls().getFirst());
        }
    }

    @Test
    void forcedCallsCannotBeCombinedWithAnotherConstraint() throws Exception {
        HttpResponse<String> r = post(body("\"required\"", 1, false, ", \"response_format\": {\"type\": \"json_object\"}"));
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = json.readTree(r.body()).get("error");
        assertThat(error.get("param").asString()).isEqualTo("tool_choice");
        assertThat(error.get("message").asString()).contains("cannot be combined with response_format");
    }
}
