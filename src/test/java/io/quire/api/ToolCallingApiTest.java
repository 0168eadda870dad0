package io.quire.api;

import io.quire.SharedFiles;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tools through a started server: stories260K with Qwen2.5's real chat template, the hermes
 * tool-call parser and the deepseek_r1 reasoning parser. The tools and earlier calls reach the
 * template as Hugging Face templates expect; bad tool fields are 400s naming the field.
 */
class ToolCallingApiTest extends Stories260KServerTest {
    static final String TOOLS = """
            [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]""";

    @DynamicPropertySource
    static void parsers(DynamicPropertyRegistry registry) {
        registry.add("quire.chat-template",
                () -> SharedFiles.require("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja").toString());
        registry.add("quire.tool-call-parser", () -> "hermes");
        registry.add("quire.reasoning-parser", () -> "deepseek_r1");
    }

    private String rendered(String body) throws Exception {
        JsonNode tokens = postJson("/tokenize", body).get("tokens");
        return postJson("/detokenize", "{\"tokens\": " + tokens + "}").get("prompt").asString();
    }

    @Test
    void toolsAndEarlierCallsReachTheTemplateAsObjects() throws Exception {
        String text = rendered("""
                {"messages": [{"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"}],
                 "tools": %s}""".formatted(TOOLS));
        assertThat(text).contains("# Tools").contains("<tools>\n{\"type\": \"function\", \"function\": "
                + "{\"name\": \"get_weather\", \"description\": \"Weather in a city\"");
        // The wire's JSON-text arguments reach the template as an object: printed once, not as an escaped string.
        assertThat(text).contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                + "</tool_call>");
        assertThat(text).contains("<tool_response>\nsunny, 21 C\n</tool_response>");
        assertThat(rendered("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}")).doesNotContain("# Tools");
    }

    @Test
    void badToolFieldsAreRefusedNamingTheField() throws Exception {
        record Case(String fields, String param, String message) {}
        for (Case c : List.of(
                new Case("\"tools\": {}", "tools", "tools must be an array"),
                new Case("\"tools\": [{\"type\": \"function\"}]", "tools", "tools[0].function must be an object"),
                new Case("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"a b\"}}]", "tools",
                        "tools[0].function.name must be 1 to 64"),
                new Case("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": 3}}]",
                        "tools", "tools[0].function.parameters must be a JSON Schema object"),
                new Case("\"tools\": " + TOOLS + ", \"tool_choice\": {\"type\": \"function\", \"function\": "
                        + "{\"name\": \"nope\"}}", "tool_choice", "names function 'nope', which is not in tools"),
                new Case("\"tools\": " + TOOLS + ", \"tool_choice\": \"sometimes\"", "tool_choice",
                        "tool_choice must be"),
                new Case("\"tool_choice\": \"required\"", "tool_choice", "tool_choice \"required\" needs tools"),
                new Case("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\":"
                        + " {\"type\": \"string\"}}}], \"tool_choice\": {\"type\": \"function\", \"function\":"
                        + " {\"name\": \"f\"}}", "tool_choice", "not an object schema"),
                new Case("\"functions\": [{\"name\": \"f\"}]", "functions", "send 'tools'"))) {
            HttpResponse<String> r = post("/v1/chat/completions", """
                    {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, %s}""".formatted(c.fields()));
            assertThat(r.statusCode()).as(c.fields()).isEqualTo(400);
            JsonNode error = json.readTree(r.body()).get("error");
            assertThat(error.get("param").asString()).as(c.fields()).isEqualTo(c.param());
            assertThat(error.get("message").asString()).as(c.fields()).contains(c.message());
        }
    }

    @Test
    void reasoningParserMovesUnclosedThinkingOutOfTheContentStreamedAndNot() throws Exception {
        String body = """
                {"messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 16, "temperature": 0%s}""";
        JsonNode r = postJson("/v1/chat/completions", body.formatted(""));
        JsonNode message = r.get("choices").get(0).get("message");
        // stories260K never writes </think>: under deepseek_r1 all of its output is thinking.
        String thinking = message.get("reasoning_content").asString();
        assertThat(thinking).isNotEmpty();
        assertThat(message.get("content").isNull()).isTrue();
        assertThat(message.has("tool_calls")).isFalse();
        assertThat(r.get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");

        List<JsonNode> chunks = stream("/v1/chat/completions", body.formatted(", \"stream\": true"));
        StringBuilder streamed = new StringBuilder();
        for (JsonNode c : chunks) {
            for (JsonNode choice : c.get("choices")) {
                JsonNode delta = choice.get("delta");
                assertThat(delta.has("content") && !delta.get("content").asString().isEmpty()).isFalse();
                if (delta.has("reasoning_content")) streamed.append(delta.get("reasoning_content").asString());
            }
        }
        assertThat(streamed.toString()).isEqualTo(thinking);

        JsonNode hidden = postJson("/v1/chat/completions", body.formatted(", \"include_reasoning\": false"));
        assertThat(hidden.get("choices").get(0).get("message").has("reasoning_content")).isFalse();
    }

    @Test
    void returnTokenIdsThroughTheParsersGivesEveryTokenOnceStreamedOrNot() throws Exception {
        // The reasoning parser holds text back while it may close the thinking: its ids wait with it.
        String body = """
                {"messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 24, "temperature": 0,
                 "return_token_ids": true%s}""";
        JsonNode r = postJson("/v1/chat/completions", body.formatted(""));
        JsonNode ids = r.get("choices").get(0).get("token_ids");
        assertThat(ids.size()).isEqualTo(24);
        List<JsonNode> chunks = stream("/v1/chat/completions", body.formatted(", \"stream\": true"));
        List<Integer> streamed = new java.util.ArrayList<>();
        for (JsonNode c : chunks) for (JsonNode t : c.get("choices").get(0).get("token_ids")) streamed.add(t.asInt());
        List<Integer> whole = new java.util.ArrayList<>();
        for (JsonNode t : ids) whole.add(t.asInt());
        assertThat(streamed).isEqualTo(whole);
    }

    @Test
    void aResponsesThinkingComesBackAsAReasoningItemWholeAndStreamed() throws Exception {
        String chat = postJson("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 16, "temperature": 0}""")
                .get("choices").get(0).get("message").get("reasoning_content").asString();
        String body = """
                {"input": "Once upon a time", "max_output_tokens": 16, "temperature": 0%s}""";
        HttpResponse<String> whole = post("/v1/responses", body.formatted(""));
        com.openai.models.responses.Response r = com.openai.core.ObjectMappers.jsonMapper()
                .readValue(whole.body(), com.openai.models.responses.Response.class);
        r.validate();
        JsonNode item = json.readTree(whole.body()).get("output").get(0);
        assertThat(item.get("type").asString()).isEqualTo("reasoning");
        assertThat(item.get("content").get(0).get("text").asString()).isEqualTo(chat);
        // stories260K never closes its thinking: the output is that reasoning alone
        assertThat(json.readTree(whole.body()).get("output").size()).isEqualTo(1);

        HttpResponse<String> streamed = post("/v1/responses", body.formatted(", \"stream\": true"));
        StringBuilder deltas = new StringBuilder();
        List<String> parts = new java.util.ArrayList<>();
        for (String e : streamed.body().split("\n\n")) {
            JsonNode data = json.readTree(e.split("\n")[1].substring("data: ".length()));
            com.openai.core.ObjectMappers.jsonMapper().readValue(data.toString(),
                    com.openai.models.responses.ResponseStreamEvent.class).validate();
            if (data.get("type").asString().equals("response.reasoning_text.delta")) {
                deltas.append(data.get("delta").asString());
            }
            if (data.get("type").asString().startsWith("response.content_part.")) {
                parts.add(data.get("type").asString() + " " + data.get("part").get("type").asString());
            }
        }
        assertThat(deltas.toString()).isEqualTo(chat);
        // the reasoning item's text part is added and done as a message's is (vLLM sends both too)
        assertThat(parts).containsExactly("response.content_part.added reasoning_text",
                "response.content_part.done reasoning_text");
    }

    @Test
    void aResponsesOwnOutputCanBeSentBackAsInput() throws Exception {
        // under deepseek_r1 stories260K's output is one reasoning item: the usual loop sends it back
        JsonNode first = postJson("/v1/responses", """
                {"input": [{"role": "user", "content": "Once upon a time"}], "max_output_tokens": 8,
                 "temperature": 0}""");
        tools.jackson.databind.node.ArrayNode input = json.createArrayNode();
        input.addObject().put("role", "user").put("content", "Once upon a time");
        first.get("output").forEach(input::add);
        input.addObject().put("role", "user").put("content", "Go on");
        HttpResponse<String> next = post("/v1/responses",
                "{\"input\": " + input + ", \"max_output_tokens\": 8, \"temperature\": 0}");
        assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
    }

    @Test
    void aFailedResponseStreamsSequenceNumbersRunWithoutGaps() throws Exception {
        // with a reasoning item open when it fails: closing it for the failed response sends nothing
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicInteger steps = new java.util.concurrent.atomic.AtomicInteger();
        engine.addKvReportListener(report -> {
            if (!armed.get() || report.sequences().isEmpty() || steps.incrementAndGet() < 3) return;
            armed.set(false);
            throw new ResponsesApiTest.InjectedFailure();
        });
        HttpResponse<String> r = post("/v1/responses", """
                {"input": "Once upon a time", "max_output_tokens": 200, "stream": true}""");
        armed.set(false);
        String[] events = r.body().split("\n\n");
        for (int i = 0; i < events.length; i++) {
            JsonNode data = json.readTree(events[i].split("\n")[1].substring("data: ".length()));
            assertThat(data.get("sequence_number").asInt()).as(data.toString()).isEqualTo(i);
            if (i == events.length - 1) assertThat(data.get("type").asString()).isEqualTo("response.failed");
        }
    }

    @Test
    void jsonOutputIsNeverTakenForThinking() throws Exception {
        // deepseek_r1 would count the whole output as thinking (it never writes </think>); JSON mode's
        // output is JSON from its first token, so it stays content.
        JsonNode r = postJson("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 40, "temperature": 0,
                 "response_format": {"type": "json_schema", "json_schema": {"name": "pick", "schema": {"type": "object",
                   "properties": {"a": {"enum": ["x", "y"]}}, "required": ["a"], "additionalProperties": false}}}}""");
        JsonNode message = r.get("choices").get(0).get("message");
        assertThat(message.has("reasoning_content")).isFalse();
        assertThat(message.get("content").asString()).startsWith("{");
    }
}
