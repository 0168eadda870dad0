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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's parsers on output a model really wrote: the built-in random model at temperature 1,
 * held by a regex to text in Hermes' call format (or with Qwen3's thinking block) around random
 * words. With {@code tool_choice: "auto"} the hermes parser turns the calls into {@code tool_calls}
 * and leaves the words as content; the qwen3 reasoning parser moves the thinking into
 * {@code reasoning_content}. Streamed and not, several seeds and {@code n}.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=64MB", "quire.max-model-len=1024",
        "quire.tool-call-parser=hermes", "quire.reasoning-parser=qwen3"})
class ParsedToolCallsApiTest {
    private static final String TOOLS = """
            [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
              "properties": {"city": {"type": "string"}}}}}]""";
    /** Words, then one or two calls in Hermes' format with random cities, then maybe more words. */
    private static final String CALLS_REGEX = "[a-z]{1,6}( [a-z]{1,6}){0,2}(\\n<tool_call>\\n\\{\"name\": \"get_weather\","
            + " \"arguments\": \\{\"city\": \"[A-Z][a-z]{1,8}\"\\}\\}\\n</tool_call>){1,2}( [a-z]{1,6})?";

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

    private String quoted(String text) {
        return json.writeValueAsString(text);
    }

    private JsonNode choice(String body) throws Exception {
        HttpResponse<String> r = post(body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json.readTree(r.body()).get("choices").get(0);
    }

    /** A streamed choice put back together: content, reasoning, calls (each whole, numbered) and finish reason. */
    private record Streamed(String content, String reasoning, List<JsonNode> calls, String finish) {}

    private Streamed stream(String body) throws Exception {
        HttpResponse<String> r = post(body);
        assertThat(r.statusCode()).isEqualTo(200);
        StringBuilder content = new StringBuilder(), reasoning = new StringBuilder();
        List<JsonNode> calls = new ArrayList<>();
        String finish = null;
        for (String line : r.body().split("\n")) {
            if (!line.startsWith("data: {")) continue;
            JsonNode choice = json.readTree(line.substring(6)).get("choices").get(0);
            JsonNode d = choice.get("delta");
            if (d.has("content")) content.append(d.get("content").asString());
            if (d.has("reasoning_content")) reasoning.append(d.get("reasoning_content").asString());
            for (JsonNode c : d.path("tool_calls")) {
                assertThat(c.get("index").asInt()).isEqualTo(calls.size());
                calls.add(c);
            }
            if (!choice.get("finish_reason").isNull()) finish = choice.get("finish_reason").asString();
        }
        return new Streamed(content.toString(), reasoning.toString(), calls, finish);
    }

    @Test
    void hermesCallsTheModelWroteBecomeToolCallsAndTheWordsStayContent() throws Exception {
        for (int seed = 0; seed < 8; seed++) {
            String body = """
                    {"messages": [{"role": "user", "content": "Weather?"}], "tools": %s, "temperature": 1,
                     "seed": %d, "max_tokens": 300, "structured_outputs": {"regex": %s}%s}""";
            JsonNode whole = choice(body.formatted(TOOLS, seed, quoted(CALLS_REGEX), ""));
            assertThat(whole.get("finish_reason").asString()).isEqualTo("tool_calls");
            JsonNode message = whole.get("message");
            String content = message.get("content").asString();
            assertThat(content).matches("[a-z]{1,6}( [a-z]{1,6}){0,2}\\n?\\n?( [a-z]{1,6})?").doesNotContain("<");
            JsonNode calls = message.get("tool_calls");
            assertThat(calls.size()).isBetween(1, 2);
            for (JsonNode c : calls) {
                assertThat(c.get("function").get("name").asString()).isEqualTo("get_weather");
                assertThat(c.get("function").get("arguments").asString()).matches("\\{\"city\":\"[A-Z][a-z]{1,8}\"}");
            }
            Streamed s = stream(body.formatted(TOOLS, seed, quoted(CALLS_REGEX), ", \"stream\": true"));
            assertThat(s.finish()).isEqualTo("tool_calls");
            assertThat(s.content()).isEqualTo(content);
            assertThat(s.calls()).hasSize(calls.size());
            for (int i = 0; i < calls.size(); i++) {
                assertThat(s.calls().get(i).get("function")).isEqualTo(calls.get(i).get("function"));
            }
        }
    }

    @Test
    void qwen3ThinkingTheModelWroteBecomesReasoningContent() throws Exception {
        String regex = "<think>[a-z]{1,6}( [a-z]{1,6}){1,3}</think>[a-z]{1,6}( [a-z]{1,6}){0,2}";
        for (int seed = 0; seed < 6; seed++) {
            String body = """
                    {"messages": [{"role": "user", "content": "Think"}], "temperature": 1, "seed": %d, "n": 2,
                     "max_tokens": 200, "structured_outputs": {"regex": %s}%s}""";
            HttpResponse<String> r = post(body.formatted(seed, quoted(regex), ""));
            assertThat(r.statusCode()).isEqualTo(200);
            for (JsonNode choice : json.readTree(r.body()).get("choices")) {
                JsonNode m = choice.get("message");
                assertThat(m.get("reasoning_content").asString()).matches("[a-z]{1,6}( [a-z]{1,6}){1,3}");
                assertThat(m.get("content").asString()).matches("[a-z]{1,6}( [a-z]{1,6}){0,2}");
                assertThat(choice.get("finish_reason").asString()).isEqualTo("stop");
            }
            Streamed s = stream(body.formatted(seed, quoted(regex), ", \"stream\": true").replace("\"n\": 2", "\"n\": 1"));
            JsonNode first = json.readTree(r.body()).get("choices").get(0).get("message");
            assertThat(s.reasoning()).isEqualTo(first.get("reasoning_content").asString());
            assertThat(s.content()).isEqualTo(first.get("content").asString());
        }
    }
}
