package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** Every refusal is an HTTP status with OpenAI's error body, never a stack trace. */
class ErrorsApiTest extends Stories260KServerTest {

    private JsonNode error(HttpResponse<String> r, int status, String type) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        assertThat(r.body()).doesNotContain("\tat ").doesNotContain("Exception");
        JsonNode body = json.readTree(r.body());
        assertThat(body.size()).isEqualTo(1);
        JsonNode error = body.get("error");
        assertThat(error.get("message").asString()).isNotBlank();
        assertThat(error.get("type").asString()).isEqualTo(type);
        assertThat(error.has("param")).isTrue();
        assertThat(error.get("code").asInt()).isEqualTo(status);
        return error;
    }

    @Test
    void malformedJsonIs400() throws Exception {
        JsonNode e = error(post("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": "), 400,
                "BadRequestError");
        assertThat(e.get("message").asString()).startsWith("Malformed JSON request body");
        error(post("/v1/chat/completions", "[1, 2"), 400, "BadRequestError");
    }

    @Test
    void aFieldOfTheWrongTypeNamesTheParam() throws Exception {
        JsonNode e = error(post("/v1/completions", """
                {"model": "stories260K", "prompt": "Hi", "max_tokens": "many"}"""), 400, "BadRequestError");
        assertThat(e.get("param").asString()).isEqualTo("max_tokens");
    }

    @Test
    void wrongTypesAreDescribedInJsonTermsNotJavaClasses() throws Exception {
        record Case(String path, String body, String message, String param) {}
        for (Case c : new Case[]{
                new Case("/v1/completions", "[1, 2]", "The request body must be a JSON object, but got an array.",
                        null),
                new Case("/v1/completions", "\"text\"", "The request body must be a JSON object, but got a string.",
                null),
                new Case("/v1/completions",
                "{\"model\": \"stories260K\", \"prompt\": \"Hi\", \"max_tokens\": \"many\"}",
                        "Invalid type for 'max_tokens': expected an integer, but got a string instead.", "max_tokens"),
                new Case("/v1/completions",
                "{\"model\": \"stories260K\", \"prompt\": \"Hi\", \"max_tokens\": 99999999999999}",
                        "Invalid 'max_tokens': integer out of range. Expected a value between -2147483648 and "
                        + "2147483647, "
                                + "but got 99999999999999 instead.", "max_tokens"),
                new Case("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": \"Hi\", \"logit_bias\": [1]}",
                        "Invalid type for 'logit_bias': expected an object, but got an array instead.", "logit_bias"),
                new Case("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": \"Hi\", \"stream_options\": 5}",
                        "Invalid type for 'stream_options': expected an object, but got an integer instead.",
                        "stream_options"),
                new Case("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": \"Hi\", \"echo\": \"maybe\"}",
                        "Invalid type for 'echo': expected a boolean, but got a string instead.", "echo"),
                new Case("/v1/chat/completions", "[1, 2]", "The request body must be a JSON object, but got an array.",
                null),
                new Case("/v1/chat/completions", "{\"model\": \"stories260K\", \"messages\": \"Hi\"}",
                        "Invalid type for 'messages': expected an array, but got a string instead.", "messages"),
                new Case("/v1/chat/completions", "{\"model\": \"stories260K\", \"messages\": [5]}",
                        "Invalid type for 'messages[0]': expected an object, but got an integer instead.", "messages"),
                new Case("/v1/chat/completions",
                "{\"model\": \"stories260K\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                        + "\"stream_options\": {\"include_usage\": \"yes\"}}",
                        "Invalid type for 'stream_options.include_usage': expected a boolean, but got a string "
                        + "instead.",
                        "stream_options")}) {
            JsonNode e = error(post(c.path(), c.body()), 400, "BadRequestError");
            String message = e.get("message").asString();
            assertThat(message).as(c.body()).isEqualTo(c.message())
                    .doesNotContain("java").doesNotContain("io.quire").doesNotContain("`").doesNotContain("JsonToken");
            assertThat(e.get("param").isNull() ? null : e.get("param").asString()).as(c.body()).isEqualTo(c.param());
        }
    }

    @Test
    void invalidSamplingParametersAre400WithTheParam() throws Exception {
        record Case(String field, String json) {}
        for (Case c : new Case[]{
                new Case("temperature", "\"temperature\": -0.5"),
                new Case("top_p", "\"top_p\": 1.5"),
                new Case("max_tokens", "\"max_tokens\": 0"),
                new Case("n", "\"n\": 0"),
                new Case("presence_penalty", "\"presence_penalty\": 3"),
                new Case("logit_bias", "\"logit_bias\": {\"abc\": 1}"),
                new Case("stop", "\"stop\": 5"),
                new Case("logprobs", "\"logprobs\": 50")}) {
            JsonNode e = error(post("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": \"Hi\", " + c.json()
                    + "}"), 400, "BadRequestError");
            assertThat(e.get("param").asString()).as(c.json()).isEqualTo(c.field());
        }
        JsonNode chat = error(post("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Hi"}], "top_p": 0}"""), 400, "BadRequestError");
        assertThat(chat.get("param").asString()).isEqualTo("top_p");
    }

    @Test
    void aLoneSurrogateInAConstraintIs400NamingTheField() throws Exception {
        // JSON escapes: "\\ud800" is half of a UTF-16 pair, which UTF-8 cannot encode.
        record Case(String field, String value) {}
        for (Case c : new Case[]{
                new Case("guided_choice", "[\"yes\", \"\\ud800\"]"),
                new Case("guided_regex", "\"a\\ud800\""),
                new Case("guided_regex", "\"a\\\\uD800\""),
                new Case("guided_json", "{\"enum\": [\"\\ud800\"]}"),
                new Case("guided_json", "\"{\\\"const\\\": \\\"\\\\udfff\\\"}\""),
                new Case("guided_grammar", "\"root ::= \\\"\\ud800\\\"\""),
                new Case("structured_outputs", "{\"choice\": [\"\\udc00\"]}"),
                // (In a property name JSON parsing already refuses it.)
                new Case("response_format", "{\"type\": \"json_schema\", \"json_schema\": {\"name\": \"s\", "
                        + "\"schema\": {\"type\": \"object\", \"properties\": {\"a\": {\"const\": \"x\\ud800\"}}}}}")}) {
            String body = "{\"model\": \"stories260K\", \"prompt\": \"Hi\", \"max_tokens\": 2, \"" + c.field() + "\": "
                    + c.value() + "}";
            JsonNode e = error(post("/v1/completions", body), 400, "BadRequestError");
            assertThat(e.get("param").asString()).as(body).isEqualTo(c.field());
            assertThat(e.get("message").asString()).as(body).contains("lone surrogate");
        }
        JsonNode chat = error(post("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2,
                 "guided_choice": ["\\ud800"]}"""), 400, "BadRequestError");
        assertThat(chat.get("param").asString()).isEqualTo("guided_choice");
        // A whole pair is a character like any other, and a prompt may hold a lone surrogate.
        JsonNode pair = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Hi", "max_tokens": 8, "guided_choice": ["\\ud83d\\ude00"]}""");
        assertThat(pair.get("choices").get(0).get("text").asString()).isEqualTo("\uD83D\uDE00");
        assertThat(post("/v1/completions", """
                {"model": "stories260K", "prompt": "Hi \\ud800", "max_tokens": 2}""").statusCode()).isEqualTo(200);
    }

    @Test
    void streamOptionsNeedStreamTrue() throws Exception {
        for (String path : new String[]{"/v1/completions", "/v1/chat/completions"}) {
            String base = path.equals("/v1/completions") ? "\"prompt\": \"Hi\""
                    : "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]";
            for (String stream : new String[]{"", "\"stream\": false, ", "\"stream\": null, "}) {
                String body = "{\"model\": \"stories260K\", " + base + ", \"max_tokens\": 2, " + stream
                        + "\"stream_options\": {\"include_usage\": true}}";
                JsonNode e = error(post(path, body), 400, "BadRequestError");
                assertThat(e.get("param").asString()).as(body).isEqualTo("stream_options");
                assertThat(e.get("message").asString()).isEqualTo("stream_options can only be set when stream is true.");
            }
            // A null or empty stream_options sets nothing.
            assertThat(post(path, "{\"model\": \"stories260K\", " + base
                    + ", \"max_tokens\": 2, \"stream_options\": null}").statusCode()).isEqualTo(200);
            assertThat(post(path, "{\"model\": \"stories260K\", " + base
                    + ", \"max_tokens\": 2, \"stream_options\": {}}").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void numbersBeyondTheSamplersFloatsAreOutOfRangeNotInfinite() throws Exception {
        // 1e308 is finite, but no 32-bit float holds it; 1e400 is finite JSON too.
        for (String field : new String[]{"temperature", "top_p", "min_p", "presence_penalty", "frequency_penalty",
                "repetition_penalty", "length_penalty"}) {
            for (String value : new String[]{"1e308", "-1e308", "1e400"}) {
                JsonNode e = error(post("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": \"Hi\", \""
                        + field + "\": " + value + "}"), 400, "BadRequestError");
                assertThat(e.get("param").asString()).as(field).isEqualTo(field);
                assertThat(e.get("message").asString()).as(field + ": " + value)
                        .startsWith("Invalid '" + field + "': number out of range").doesNotContain("Infinity");
            }
        }
        JsonNode e = error(post("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Hi"}], "temperature": 1e308}"""),
                400, "BadRequestError");
        assertThat(e.get("message").asString())
                .isEqualTo("Invalid 'temperature': number out of range (at most 3.4028235E38 in magnitude), got 1.0E308.");
        e = error(post("/v1/completions", """
                {"model": "stories260K", "prompt": "Hi", "logit_bias": {"5": 1e308}}"""), 400, "BadRequestError");
        assertThat(e.get("param").asString()).isEqualTo("logit_bias");
        assertThat(e.get("message").asString()).contains("out of range");
    }

    @Test
    void theOutputLimitIsNamedAsTheCallerSentIt() throws Exception {
        String chat = "{\"model\": \"stories260K\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], ";
        JsonNode e = error(post("/v1/chat/completions", chat + "\"max_completion_tokens\": -3}"), 400, "BadRequestError");
        assertThat(e.get("param").asString()).isEqualTo("max_completion_tokens");
        assertThat(e.get("message").asString()).isEqualTo("max_completion_tokens must be at least 1, got -3.");
        e = error(post("/v1/chat/completions", chat + "\"max_completion_tokens\": 2, \"min_tokens\": 5}"), 400,
                "BadRequestError");
        assertThat(e.get("param").asString()).isEqualTo("min_tokens");
        assertThat(e.get("message").asString()).contains("max_completion_tokens=2").doesNotContain("max_tokens");
        e = error(post("/v1/chat/completions", chat + "\"max_completion_tokens\": 600}"), 400, "BadRequestError");
        assertThat(e.get("param").asString()).isEqualTo("max_completion_tokens");
        e = error(post("/v1/chat/completions", chat + "\"max_tokens\": -3}"), 400, "BadRequestError");
        assertThat(e.get("param").asString()).isEqualTo("max_tokens");
        assertThat(e.get("message").asString()).isEqualTo("max_tokens must be at least 1, got -3.");
    }

    @Test
    void promptPlusMaxTokensOverTheContextIs400() throws Exception {
        JsonNode e = error(post("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 510}"""), 400, "BadRequestError");
        assertThat(e.get("message").asString()).contains("maximum context length is 512 tokens");
        assertThat(e.get("param").asString()).isEqualTo("max_tokens");
        String longPrompt = "Once upon a time ".repeat(200);
        JsonNode chat = error(post("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "%s"}]}""".formatted(longPrompt)), 400, "BadRequestError");
        assertThat(chat.get("message").asString()).contains("maximum context length").contains("in the messages");
        assertThat(chat.get("param").asString()).isEqualTo("messages");
        // The completions endpoint has no messages: its prompt is named.
        JsonNode completion = error(post("/v1/completions", """
                {"model": "stories260K", "prompt": "%s", "max_tokens": 2}""".formatted(longPrompt)), 400, "BadRequestError");
        assertThat(completion.get("message").asString()).contains("maximum context length")
                .contains("in the prompt").contains("length of the prompt").doesNotContain("messages");
        assertThat(completion.get("param").asString()).isEqualTo("prompt");
        // A body over Spring's default 256KB codec limit still reaches the engine's length check.
        String ids = "100,".repeat(70_000) + "100";
        JsonNode huge = error(post("/v1/completions", "{\"model\": \"stories260K\", \"prompt\": [" + ids + "]}"), 400,
                "BadRequestError");
        assertThat(huge.get("message").asString()).contains("maximum context length");
        // A stream that cannot start is refused before any event, with a status.
        error(post("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 510, "stream": true}"""), 400, "BadRequestError");
    }

    @Test
    void aBodyOverTheCodecLimitIs413NamingTheLimitOnly() throws Exception {
        // application.yml's spring.http.codecs.max-in-memory-size: 32MB.
        String body = "{\"model\": \"stories260K\", \"prompt\": \"" + "a".repeat(33 << 20) + "\"}";
        JsonNode e = error(post("/v1/completions", body), 413, "RequestTooLargeError");
        assertThat(e.get("message").asString()).isEqualTo("Request body exceeds the limit of 32 MiB");
    }

    @Test
    void unknownModelIs404() throws Exception {
        JsonNode e = error(post("/v1/completions", """
                {"model": "gpt-4", "prompt": "Hi"}"""), 404, "NotFoundError");
        assertThat(e.get("param").asString()).isEqualTo("model");
        assertThat(e.get("message").asString()).contains("gpt-4");
        error(post("/v1/chat/completions", """
                {"model": "gpt-4", "messages": [{"role": "user", "content": "Hi"}], "stream": true}"""), 404, "NotFoundError");
        // A missing model means the served one, as in vLLM (StrictRequestsApiTest.modelIsOptional).
    }

    @Test
    void requestShapeErrors() throws Exception {
        assertThat(error(post("/v1/chat/completions", """
                {"model": "stories260K", "messages": []}"""), 400, "BadRequestError").get("param").asString()).isEqualTo("messages");
        assertThat(error(post("/v1/completions", """
                {"model": "stories260K"}"""), 400, "BadRequestError").get("param").asString()).isEqualTo("prompt");
        assertThat(error(post("/v1/completions", """
                {"model": "stories260K", "prompt": [1, 99999]}"""), 400, "BadRequestError").get("param").asString()).isEqualTo("prompt");
        error(post("/v1/completions", ""), 400, "BadRequestError");
    }

    @Test
    void aBodyThatIsNotJsonIs415() throws Exception {
        JsonNode e = error(post("/v1/completions", "model=stories260K&prompt=Hi", "application/x-www-form-urlencoded"),
                415, "UnsupportedMediaTypeError");
        assertThat(e.get("message").asString()).contains("application/json");
        error(post("/v1/chat/completions", "hello", "text/plain"), 415, "UnsupportedMediaTypeError");
    }

    @Test
    void pathsTheFirewallRefusesGetTheErrorBody() throws Exception {
        // Spring Security's firewall refuses these before any route; they are sent as written, not normalized.
        for (String path : new String[]{"/v1/models/..%2f..%2fetc%2fpasswd", "/v1/models/%00",
                "/playground/../../etc/passwd", "/v1/models/a%2fb"}) {
            JsonNode e = error(get(path), 400, "BadRequestError");
            assertThat(e.get("message").asString()).as(path).contains("not allowed").doesNotContain("Firewall");
        }
    }

    @Test
    void actuatorsOwn404GetsTheErrorBody() throws Exception {
        // Actuator answers an unknown metric with a bare 404, not an exception.
        error(get("/actuator/metrics/nope"), 404, "NotFoundError");
        error(get("/actuator/nope"), 404, "NotFoundError");
        assertThat(get("/actuator/metrics").statusCode()).isEqualTo(200);
    }

    @Test
    void wrongRoutesAndMethods() throws Exception {
        error(get("/v1/completions"), 405, "MethodNotAllowedError");
        error(get("/v1/chat/completions"), 405, "MethodNotAllowedError");
        error(post("/v1/models", "{}"), 405, "MethodNotAllowedError");
        error(get("/v1/engines"), 404, "NotFoundError");
        error(post("/v1/audio/transcriptions", "{}"), 404, "NotFoundError");
        error(get("/v1/embeddings"), 405, "MethodNotAllowedError");
        error(post("/v1/embeddings", "{}"), 400, "BadRequestError");
        HttpResponse<String> delete = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port
                + "/tokenize")).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        error(delete, 405, "MethodNotAllowedError");
    }
}
