package io.quire.api;

import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The requests README.md and docs/models.md show for the built-in model work as pasted against the
 * server of the first command (the default model, {@code quire-dummy}), and the answer README.md
 * shows has the real one's shape and token counts (its random text may differ between CPUs).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=32MB", "quire.max-model-len=256"})
class ReadmeDummyRequestsTest {
    @LocalServerPort
    int port;

    private final JsonMapper json = JsonMapper.builder().build();
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void theDocumentedRequestsAnswerAsShown() throws Exception {
        List<DocumentedCurls.Curl> curls = new ArrayList<>();
        curls.addAll(DocumentedCurls.in(Path.of("README.md")).forModel("quire-dummy"));
        curls.addAll(DocumentedCurls.in(Path.of("docs", "models.md")).forModel("quire-dummy"));
        assertThat(curls).hasSizeGreaterThanOrEqualTo(2);
        JsonNode shown = shownAnswer();
        for (DocumentedCurls.Curl curl : curls) {
            HttpResponse<String> r = post(curl.path(), curl.body());
            assertThat(r.statusCode()).as(curl.body() + " -> " + r.body()).isEqualTo(200);
            JsonNode answer = json.readTree(r.body());
            assertThat(fields(answer)).isEqualTo(fields(shown));
            assertThat(answer.get("model")).isEqualTo(shown.get("model"));
            assertThat(answer.get("usage")).isEqualTo(shown.get("usage"));
            assertThat(answer.get("choices").get(0).get("finish_reason"))
                    .isEqualTo(shown.get("choices").get(0).get("finish_reason"));
        }
        // The same request without "model" is as good: the server serves one.
        String body = curls.getFirst().body().replace("\"model\":\"quire-dummy\",", "");
        assertThat(post(curls.getFirst().path(), body).statusCode()).as(body).isEqualTo(200);
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** README's example answer: the indented block starting with {@code {"id":"cmpl-}, lines joined. */
    private JsonNode shownAnswer() throws Exception {
        StringBuilder text = new StringBuilder();
        for (String line : Files.readAllLines(Path.of("README.md"))) {
            if (text.isEmpty() && !line.startsWith("    {\"id\":\"cmpl-")) continue;
            if (!line.startsWith("    ")) break;
            text.append(line.strip());
        }
        assertThat(text).as("README.md shows an answer").isNotEmpty();
        return json.readTree(text.toString());
    }

    /** Every field path, e.g. {@code choices.text}: the shape, whatever the values. */
    private static Set<String> fields(JsonNode node) {
        Set<String> out = new TreeSet<>();
        collect("", node, out);
        return out;
    }

    private static void collect(String prefix, JsonNode node, Set<String> out) {
        if (node.isArray()) {
            for (JsonNode element : node) collect(prefix, element, out);
        } else if (node.isObject()) {
            for (Iterator<String> names = node.propertyNames().iterator(); names.hasNext(); ) {
                String name = names.next();
                out.add(prefix + name);
                collect(prefix + name + ".", node.get(name), out);
            }
        }
    }
}
