package io.quire.api;

import io.quire.KvLeakCheck;
import io.quire.engine.structured.StructuredSchemas;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import io.quire.engine.LLMEngine;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Structured output over real HTTP on the built-in random model at temperature 1: its tokens are
 * noise, so only the constraint makes the output valid. JSON is checked with networknt's JSON
 * Schema validator, regexes with java.util.regex.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.model=dummy", "quire.max-num-seqs=32",
        // About 1,000 tokens of KV for 32 running requests of up to 170: sequences are preempted (recomputed,
        // or swapped for n > 1) mid-output, and must resume in the same automaton state.
        "quire.kv-cache-memory=4MB", "quire.max-model-len=512", "quire.swap-space=2MB"})
class StructuredOutputApiTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    @LocalServerPort
    int port;
    @Autowired
    LLMEngine engine;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Test
    void twoHundredJsonSchemaRequestsAllValidate() throws Exception {
        List<String> schemas = StructuredSchemas.SCHEMAS;
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 208; i++) {
            String schema = schemas.get(i % schemas.size());
            ObjectNode body = chat("Give me JSON", 160);
            body.putObject("response_format").put("type", "json_schema").putObject("json_schema")
                    .put("name", "s" + i % schemas.size()).put("strict", true).set("schema", JSON.readTree(schema));
            body.put("stream", i % 8 == 0);
            bodies.add(body.toString());
        }
        List<HttpResponse<String>> responses = postAll("/v1/chat/completions", bodies);
        for (int i = 0; i < responses.size(); i++) {
            String schema = schemas.get(i % schemas.size());
            String text = i % 8 == 0 ? streamedText(responses.get(i)) : chatText(responses.get(i));
            assertThat(StructuredSchemas.validate(schema, text)).as("%s\nagainst %s", text, schema).isEmpty();
        }
        assertThat(engine.stats().numPreemptions()).as("sequences preempted mid-output").isPositive();
    }

    @Test
    void jsonObjectModeGivesObjects() throws Exception {
        ObjectNode body = chat("JSON please", 100);
        body.putObject("response_format").put("type", "json_object");
        body.put("n", 4);
        JsonNode r = ok(post("/v1/chat/completions", body.toString()));
        assertThat(r.get("choices")).hasSize(4);
        for (JsonNode c : r.get("choices")) {
            assertThat(JSON.readTree(c.get("message").get("content").asString()).isObject()).isTrue();
            assertThat(c.get("finish_reason").asString()).isIn("stop", "length");
        }
    }

    @Test
    void choiceAlwaysYieldsOneOfTheChoices() throws Exception {
        List<String> choices = List.of("yes", "no", "it depends", "ключ");
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            ObjectNode body = completion(20);
            if (i % 2 == 0) body.putObject("structured_outputs").set("choice", JSON.valueToTree(choices));
            else body.set("guided_choice", JSON.valueToTree(choices));
            body.put("n", 2);
            if (i % 3 == 0) body.put("best_of", 3);
            bodies.add(body.toString());
        }
        for (HttpResponse<String> res : postAll("/v1/completions", bodies)) {
            JsonNode r = ok(res);
            for (JsonNode c : r.get("choices")) {
                assertThat(choices).contains(c.get("text").asString());
                assertThat(c.get("finish_reason").asString()).isEqualTo("stop");
            }
        }
    }

    @Test
    void regexOutputAlwaysMatches() throws Exception {
        String regex = "[A-Z][a-z]{1,6} (is|was) [0-9]{1,3}(\\.[0-9])? (km|kg)\\.";
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            ObjectNode body = completion(30);
            if (i % 2 == 0) body.put("guided_regex", regex);
            else body.putObject("structured_outputs").put("regex", regex);
            if (i % 4 == 1) body.put("stream", true);
            if (i % 4 == 3) body.put("use_beam_search", true).put("best_of", 3).put("temperature", 0);
            bodies.add(body.toString());
        }
        List<HttpResponse<String>> responses = postAll("/v1/completions", bodies);
        Pattern p = Pattern.compile(regex);
        for (int i = 0; i < responses.size(); i++) {
            String text = i % 4 == 1 ? streamedText(responses.get(i)) : ok(responses.get(i)).get("choices").get(0).get("text").asString();
            assertThat(p.matcher(text).matches()).as(text).isTrue();
        }
    }

    @Test
    void grammarOutputAlwaysParses() throws Exception {
        List<String> arithmetic = new ArrayList<>(), json = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            arithmetic.add(completion(60).put("guided_grammar", GRAMMAR_ARITHMETIC).toString());
            ObjectNode body = chat("Some JSON", 60);
            body.putObject("structured_outputs").put("grammar", GRAMMAR_JSON);
            json.add(body.toString());
        }
        for (HttpResponse<String> res : postAll("/v1/completions", arithmetic)) {
            String text = ok(res).get("choices").get(0).get("text").asString();
            assertThat(text).matches("[0-9()+\\-*/]+");
            assertThat(balanced(text)).as(text).isTrue();
        }
        for (HttpResponse<String> res : postAll("/v1/chat/completions", json)) {
            String text = chatText(res);
            assertThat(JSON.readTree(text).isObject()).as(text).isTrue();
        }
    }

    private static final String GRAMMAR_ARITHMETIC = """
            root   ::= expr
            expr   ::= term (("+" | "-") term)*
            term   ::= factor (("*" | "/") factor)*
            factor ::= number | "(" expr ")"
            number ::= [0-9]+
            """;
    private static final String GRAMMAR_JSON = """
            root   ::= "{" ws (pair ("," ws pair)*)? "}"
            pair   ::= string ":" ws value
            value  ::= root | string | [0-9]+ | "true" | "false" | "null"
            string ::= "\\"" [a-z ]* "\\"" ws
            ws     ::= " "?
            """;

    private static boolean balanced(String t) {
        int depth = 0;
        for (char ch : t.toCharArray()) {
            depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
            if (depth < 0) return false;
        }
        return depth == 0;
    }

    @Test
    void constraintsThatCannotBeCompiledAreA400NamingTheField() throws Exception {
        assertBadRequest(completion(5).put("guided_regex", "(a"), "guided_regex", "regex");
        ObjectNode so = completion(5);
        so.putObject("structured_outputs").put("regex", "a\\1");
        assertBadRequest(so, "structured_outputs", "backreferences");
        ObjectNode rf = chat("x", 5);
        rf.putObject("response_format").put("type", "json_schema").putObject("json_schema").put("name", "x")
                .set("schema", JSON.readTree("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"format\":\"email\"}}}"));
        assertBadRequest(rf, "response_format", "format 'email'");
        ObjectNode kw = chat("x", 5);
        kw.putObject("response_format").put("type", "json_schema").putObject("json_schema").put("name", "x")
                .set("schema", JSON.readTree("{\"type\":\"array\",\"uniqueItems\":true}"));
        assertBadRequest(kw, "response_format", "'uniqueItems'");
        ObjectNode two = completion(5).put("guided_regex", "a");
        two.set("guided_choice", JSON.valueToTree(List.of("a")));
        assertBadRequest(two, "guided_choice", "Only one kind");
        assertBadRequest(completion(5).put("guided_json", 5), "guided_json", "JSON Schema");
        ObjectNode unknown = completion(5);
        unknown.putObject("structured_outputs").put("structural_tag", "{}");
        assertBadRequest(unknown, "structured_outputs", "structured_outputs.structural_tag");
        ObjectNode type = chat("x", 5);
        type.putObject("response_format").put("type", "xml");
        assertBadRequest(type, "response_format", "'xml'");
        assertBadRequest(completion(5).put("guided_grammar", "root ::= missing"), "guided_grammar", "undefined rule 'missing'");
    }

    @Test
    void minTokensPastTheShortestOutputIsA400NamingMinTokens() throws Exception {
        // "a" can only end after one token; min_tokens holds EOS back until five are out.
        ObjectNode body = completion(10).put("guided_regex", "a").put("min_tokens", 5);
        assertBadRequest(body, "min_tokens", "min_tokens 5 cannot be met");
        // Streamed, the headers are out before the first token: the error comes as an event, then [DONE].
        HttpResponse<String> res = post("/v1/completions", body.put("stream", true).toString());
        assertThat(res.statusCode()).isEqualTo(200);
        String event = res.body().lines().filter(l -> l.contains("\"error\"")).findFirst().orElseThrow();
        JsonNode e = JSON.readTree(event.substring("data: ".length())).get("error");
        assertThat(e.get("code").asInt()).isEqualTo(400);
        assertThat(e.get("param").asString()).isEqualTo("min_tokens");
        assertThat(res.body()).contains("data: [DONE]");
    }

    private void assertBadRequest(ObjectNode body, String param, String messagePart) throws Exception {
        String path = body.has("messages") ? "/v1/chat/completions" : "/v1/completions";
        HttpResponse<String> res = post(path, body.toString());
        assertThat(res.statusCode()).as(res.body()).isEqualTo(400);
        JsonNode e = JSON.readTree(res.body()).get("error");
        assertThat(e.get("param").asString()).isEqualTo(param);
        assertThat(e.get("message").asString()).contains(messagePart);
    }

    static ObjectNode chat(String user, int maxTokens) {
        ObjectNode body = JSON.createObjectNode().put("model", "quire-dummy").put("max_tokens", maxTokens).put("temperature", 1.0);
        body.putArray("messages").addObject().put("role", "user").put("content", user);
        return body;
    }

    static ObjectNode completion(int maxTokens) {
        return JSON.createObjectNode().put("model", "quire-dummy").put("prompt", "Answer:").put("max_tokens", maxTokens)
                .put("temperature", 1.0);
    }

    private static String chatText(HttpResponse<String> res) {
        return ok(res).get("choices").get(0).get("message").get("content").asString();
    }

    private static JsonNode ok(HttpResponse<String> res) {
        assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
        return JSON.readTree(res.body());
    }

    /** The text of a streamed response (either endpoint), its chunks concatenated. */
    static String streamedText(HttpResponse<String> res) {
        assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        for (String line : res.body().split("\n")) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
            for (JsonNode c : JSON.readTree(line.substring(6)).path("choices")) {
                JsonNode piece = c.has("delta") ? c.get("delta").get("content") : c.get("text");
                if (piece != null && !piece.isNull()) text.append(piece.asString());
            }
        }
        return text.toString();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(request(path, body), HttpResponse.BodyHandlers.ofString());
    }

    /** All at once, so the engine batches them (each sequence with its own mask). */
    private List<HttpResponse<String>> postAll(String path, List<String> bodies) {
        List<CompletableFuture<HttpResponse<String>>> futures = bodies.stream()
                .map(b -> http.sendAsync(request(path, b), HttpResponse.BodyHandlers.ofString())).toList();
        return futures.stream().map(CompletableFuture::join).toList();
    }

    private HttpRequest request(String path, String body) {
        return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).timeout(Duration.ofSeconds(300))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }
}
