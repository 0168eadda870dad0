package io.quire.api;

import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Request bodies are read strictly: a value of the wrong JSON type is never coerced, a null inside
 * an array is refused, and a field OpenAI or vLLM define but Quire does not implement is refused
 * unless it is absent or neutral. Descriptive fields, unknown fields and a missing model are fine.
 */
class StrictRequestsApiTest extends Stories260KServerTest {
    private static final String MODEL_FIELD = "\"model\": \"stories260K\"";
    private static final String PROMPT_FIELD = "\"prompt\": \"Once upon a time\"";
    private static final String MESSAGES_FIELD = "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]";

    /** One body: the endpoint, the fields, and the param the refusal must name. */
    private record Case(String path, String body, String param) {
        static Case completion(String fields, String param) {
            return new Case("/v1/completions", body(fields, MODEL_FIELD, PROMPT_FIELD), param);
        }

        static Case chat(String fields, String param) {
            return new Case("/v1/chat/completions", body(fields, MODEL_FIELD, MESSAGES_FIELD), param);
        }

        /** The case's fields plus the base ones it does not set (no duplicate keys), and two tokens at most. */
        static String body(String fields, String... base) {
            StringBuilder sb = new StringBuilder("{").append(fields);
            for (String b : base) if (!fields.contains(b.substring(0, b.indexOf(':') + 1))) sb.append(", ").append(b);
            if (!fields.contains("\"max_tokens\":") && !fields.contains("\"max_completion_tokens\":")) {
                sb.append(", \"max_tokens\": 2");
            }
            return sb.append('}').toString();
        }
    }

    /** Checked softly, so that a run lists every case that is not refused as it should be. */
    private JsonNode badRequest(SoftAssertions soft, Case c) throws Exception {
        HttpResponse<String> r = post(c.path(), c.body());
        soft.assertThat(r.statusCode()).as(c.body() + " -> " + r.body()).isEqualTo(400);
        if (r.statusCode() != 400) return json.readTree("{}");
        JsonNode error = json.readTree(r.body()).get("error");
        soft.assertThat(error.get("type").asString()).isEqualTo("BadRequestError");
        soft.assertThat(error.get("code").asInt()).isEqualTo(400);
        soft.assertThat(error.get("param").asString()).as(c.body() + " -> " + r.body()).isEqualTo(c.param());
        // Messages name JSON fields and types, never Java ones.
        soft.assertThat(error.get("message").asString()).as(c.body())
                .doesNotContain("java.").doesNotContain("Exception").doesNotContain("`").doesNotContain("io.quire");
        return error;
    }

    private void badRequests(Case... cases) throws Exception {
        SoftAssertions soft = new SoftAssertions();
        for (Case c : cases) badRequest(soft, c);
        soft.assertAll();
    }

    private JsonNode badRequest(Case c) throws Exception {
        SoftAssertions soft = new SoftAssertions();
        JsonNode error = badRequest(soft, c);
        soft.assertAll();
        return error;
    }

    private void ok(String path, String body) throws Exception {
        HttpResponse<String> r = post(path, body);
        assertThat(r.statusCode()).as(body + " -> " + r.body()).isEqualTo(200);
    }

    @Test
    void valuesOfTheWrongTypeAreNotCoerced() throws Exception {
        badRequests(
                Case.completion("\"max_tokens\": 1.5", "max_tokens"),
                Case.completion("\"n\": \"2\"", "n"),
                Case.completion("\"stream\": 1", "stream"),
                Case.completion("\"echo\": \"true\"", "echo"),
                Case.completion("\"seed\": 1e30", "seed"),
                Case.completion("\"model\": 5", "model"),
                Case.completion("\"user\": 5", "user"),
                Case.completion("\"logprobs\": true", "logprobs"),
                Case.completion("\"logit_bias\": {\"5\": \"1\"}", "logit_bias"),
                Case.completion("\"stop_token_ids\": 5", "stop_token_ids"),
                Case.chat("\"temperature\": \"0.5\"", "temperature"),
                Case.chat("\"logprobs\": 1", "logprobs"),
                Case.chat("\"max_tokens\": 1e308", "max_tokens"),
                Case.chat("\"max_completion_tokens\": 2147483648", "max_completion_tokens"),
                Case.chat("\"stream_options\": {\"include_usage\": 1}", "stream_options"),
                Case.chat("\"messages\": \"Hi\"", "messages"),
                Case.chat("\"messages\": [{\"role\": 123, \"content\": \"Hi\"}]", "messages"));
        JsonNode role = badRequest(Case.chat("\"messages\": [{\"role\": 123, \"content\": \"Hi\"}]", "messages"));
        assertThat(role.get("message").asString()).contains("messages[0].role").contains("string");
        JsonNode max = badRequest(Case.completion("\"max_tokens\": 1.5", "max_tokens"));
        assertThat(max.get("message").asString()).contains("max_tokens").contains("integer");
    }

    @Test
    void nestedValuesReadAsSentAreTypeCheckedToo() throws Exception {
        String schema = "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {%s\"schema\": "
                + "{\"type\": \"string\", \"maxLength\": 2}}}";
        String call = "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", "
                + "\"tool_calls\": [%s]}, {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"x\"}]";
        String function = "\"function\": {\"name\": \"f\", \"arguments\": \"{}\"}";
        badRequests(
                Case.chat(schema.formatted("\"name\": 5, "), "response_format"),
                Case.chat(schema.formatted("\"name\": \"n\", \"strict\": \"x\", "), "response_format"),
                Case.completion(schema.formatted("\"strict\": 1, "), "response_format"),
                Case.chat("\"messages\": [{\"role\": \"user\", \"content\": \"Hi\", \"tool_calls\": 5}]", "messages"),
                Case.chat(call.formatted("5"), "messages"),
                Case.chat(call.formatted("{\"id\": 5, \"type\": \"function\", " + function + "}"), "messages"),
                Case.chat(call.formatted("{\"id\": \"c1\", \"type\": true, " + function + "}"), "messages"),
                Case.chat(call.formatted("{\"id\": \"c1\", \"function\": \"f\"}"), "messages"),
                Case.chat(call.formatted("{\"id\": \"c1\", \"function\": {\"name\": 5}}"), "messages"),
                Case.chat(call.formatted("{\"id\": \"c1\", \"function\": {\"name\": \"f\", \"arguments\": 5}}"),
                        "messages"),
                Case.chat("\"spaces_between_special_tokens\": \"x\"", "spaces_between_special_tokens"),
                Case.completion("\"spaces_between_special_tokens\": 1", "spaces_between_special_tokens"));
        JsonNode name = badRequest(Case.chat(schema.formatted("\"name\": 5, "), "response_format"));
        assertThat(name.get("message").asString()).isEqualTo(
                "Invalid type for 'response_format.json_schema.name': expected a string, but got an integer instead.");
        JsonNode id = badRequest(Case.chat(call.formatted("{\"id\": 5, " + function + "}"), "messages"));
        assertThat(id.get("message").asString()).isEqualTo(
                "Invalid type for 'messages[1].tool_calls[0].id': expected a string, but got an integer instead.");
        // The right types still pass, arguments as JSON text or as an object.
        ok("/v1/chat/completions", Case.body(schema.formatted("\"name\": \"n\", \"strict\": true, ")
                + ", \"spaces_between_special_tokens\": false", MODEL_FIELD, MESSAGES_FIELD));
        ok("/v1/chat/completions", Case.body(call.formatted("{\"id\": \"c1\", \"type\": \"function\", " + function
                + "}, {\"id\": \"c2\", \"function\": {\"name\": \"g\", \"arguments\": {}}}"), MODEL_FIELD));
    }

    @Test
    void nullsInsideArraysAreRefused() throws Exception {
        badRequests(
                Case.completion("\"stop_token_ids\": [null]", "stop_token_ids"),
                Case.completion("\"stop\": [null]", "stop"),
                Case.completion("\"logit_bias\": {\"5\": null}", "logit_bias"),
                Case.completion("\"prompt\": [null]", "prompt"),
                Case.completion("\"prompt\": [[1, null]]", "prompt"),
                Case.chat("\"messages\": [null]", "messages"),
                Case.chat("\"messages\": [{\"role\": \"user\", \"content\": [null]}]", "messages"),
                Case.chat("\"stop_token_ids\": [null]", "stop_token_ids"),
                new Case("/detokenize", "{\"tokens\": [1, null]}", "tokens"));
        JsonNode e = badRequest(Case.completion("\"stop_token_ids\": [null]", "stop_token_ids"));
        assertThat(e.get("message").asString()).contains("stop_token_ids[0]").contains("null");
    }

    @Test
    void integralNumbersAreAcceptedWhereTheyMeanTheSame() throws Exception {
        // OpenAI accepts an integer for a float field; pydantic (vLLM) accepts 2.0 for an integer field.
        ok("/v1/completions", Case.body("\"temperature\": 1, \"top_p\": 1", MODEL_FIELD, PROMPT_FIELD));
        JsonNode two = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 2.0, "temperature": 0}""");
        assertThat(two.get("usage").get("completion_tokens").asInt()).isEqualTo(2);
    }

    @Test
    void unsupportedFieldsAreRefusedByName() throws Exception {
        String[][] both = {
                {"guided_whitespace_pattern", "\" \""},
                {"logits_processors", "[\"x\"]"},
                {"kv_transfer_params", "{\"do_remote_decode\": true}"},
                {"mm_processor_kwargs", "{\"x\": 1}"},
        };
        SoftAssertions soft = new SoftAssertions();
        for (String[] f : both) {
            JsonNode e = badRequest(soft, Case.completion("\"" + f[0] + "\": " + f[1], f[0]));
            if (e.has("message")) {
                soft.assertThat(e.get("message").asString()).contains("'" + f[0] + "'").contains("not supported");
            }
            badRequest(soft, Case.chat("\"" + f[0] + "\": " + f[1], f[0]));
        }
        String[][] chatOnly = {
                {"functions", "[{\"name\": \"f\"}]"},
                {"function_call", "{\"name\": \"f\"}"},
                {"audio", "{\"voice\": \"alloy\", \"format\": \"mp3\"}"},
                {"modalities", "[\"text\", \"audio\"]"},
                {"prediction", "{\"type\": \"content\", \"content\": \"x\"}"},
                {"web_search_options", "{}"},
                {"reasoning_effort", "\"low\""},
                {"chat_template", "\"{{ messages }}\""},
        };
        for (String[] f : chatOnly) badRequest(soft, Case.chat("\"" + f[0] + "\": " + f[1], f[0]));
        // Tools are implemented, but finding calls in the output ("auto", the default with tools) needs
        // quire.tool-call-parser, which this server is started without.
        badRequest(soft, Case.chat("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]",
                "tool_choice"));
        badRequest(soft, Case.completion("\"suffix\": \"The end.\"", "suffix"));
        // priority is implemented under quire.scheduling-policy=priority; this server serves first come first
        // served, where vLLM too refuses any priority but 0
        JsonNode p = badRequest(soft, Case.completion("\"priority\": 1", "priority"));
        if (p.has("message")) {
            soft.assertThat(p.get("message").asString()).isEqualTo("Got priority 1 but Priority scheduling is not enabled.");
        }
        badRequest(soft, Case.chat("\"priority\": -2", "priority"));
        // continuous_usage_stats is implemented; set without stream it is a 400, as include_usage (and in vLLM)
        badRequest(soft, Case.chat("\"stream_options\": {\"continuous_usage_stats\": true}", "stream_options"));
        soft.assertAll();
    }

    @Test
    void neutralValuesOfUnsupportedFieldsAreAccepted() throws Exception {
        // What SDKs send on their own, or the documented default: it changes nothing that is generated.
        ok("/v1/chat/completions", Case.body("""
                "response_format": {"type": "text"}, "tools": [], "tool_choice": "none", "parallel_tool_calls": true,
                "functions": [], "function_call": "none", "modalities": ["text"], "priority": 0,
                "logits_processors": [], "documents": [], "continue_final_message": false, "echo": false,
                "audio": null, "reasoning_effort": null""", MODEL_FIELD, MESSAGES_FIELD));
        ok("/v1/chat/completions", Case.body("\"tool_choice\": \"auto\"", MODEL_FIELD, MESSAGES_FIELD));
        ok("/v1/completions", Case.body("""
                "response_format": {"type": "text"}, "suffix": null, "guided_json": null, "prompt_logprobs": null,
                "bad_words": [], "truncate_prompt_tokens": null""", MODEL_FIELD, PROMPT_FIELD));
    }

    @Test
    void descriptiveAndUnknownFieldsAreAccepted() throws Exception {
        String descriptive = """
                "user": "u-1", "store": false, "metadata": {"team": "a"}, "service_tier": "auto", "request_id": "r-1",
                "prompt_cache_key": "k", "safety_identifier": "s", "not_a_field": [1, {}]""";
        ok("/v1/completions", Case.body(descriptive, MODEL_FIELD, PROMPT_FIELD));
        ok("/v1/chat/completions", Case.body(descriptive, MODEL_FIELD, MESSAGES_FIELD));
    }

    @Test
    void modelIsOptional() throws Exception {
        JsonNode c = postJson("/v1/completions", """
                {"prompt": "Once upon a time", "max_tokens": 2}""");
        assertThat(c.get("model").asString()).isEqualTo(MODEL);
        JsonNode chat = postJson("/v1/chat/completions", """
                {"model": null, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}""");
        assertThat(chat.get("model").asString()).isEqualTo(MODEL);
        assertThat(post("/v1/completions", """
                {"model": "gpt-4", "prompt": "Hi", "max_tokens": 2}""").statusCode()).isEqualTo(404);
    }

    @Test
    void aBodyThatIsNotAnObjectOrTooDeepIs400() throws Exception {
        String deep = "[".repeat(5000) + "]".repeat(5000);
        for (String body : new String[]{"[1, 2]", "\"Hi\"", "42", "null", deep,
                "{\"model\": \"stories260K\", \"prompt\": \"Hi\", \"x\": " + deep + "}"}) {
            HttpResponse<String> r = post("/v1/completions", body);
            assertThat(r.statusCode()).as(body.length() > 80 ? body.substring(0, 80) : body).isEqualTo(400);
            assertThat(json.readTree(r.body()).get("error").get("type").asString()).isEqualTo("BadRequestError");
        }
    }

    @Test
    void tokenizerEndpointsAreStrictToo() throws Exception {
        badRequests(new Case("/tokenize", "{\"prompt\": 5}", "prompt"),
                new Case("/tokenize", "{\"prompt\": \"Hi\", \"add_special_tokens\": 0}", "add_special_tokens"),
                new Case("/detokenize", "{\"tokens\": [1.5]}", "tokens"));
        ok("/tokenize", "{\"prompt\": \"Hi\"}");
    }
}
