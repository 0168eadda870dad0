package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * vLLM's {@code continue_final_message} (the model continues the last message, a prefilled reply) and
 * chat {@code echo} (the reply starts with that message) over HTTP against stories260K.
 */
class ContinueFinalMessageApiTest extends Stories260KServerTest {
    private static final String MESSAGES = """
            [{"role": "user", "content": "Tell me a story."}, {"role": "assistant", "content": "Once upon a time"}]""";

    private String continuing(String extra) {
        return """
                {"model": "stories260K", "messages": %s, "add_generation_prompt": false, "continue_final_message": true,
                 "max_tokens": 12, "temperature": 0%s}""".formatted(MESSAGES, extra);
    }

    @Test
    void theModelContinuesTheFinalMessageAsItWouldThatTextAsAPrompt() throws Exception {
        JsonNode tokens = postJson("/tokenize", """
                {"messages": %s, "add_generation_prompt": false, "continue_final_message": true}""".formatted(MESSAGES))
                .get("tokens");
        String rendered = postJson("/detokenize", "{\"tokens\": " + tokens + "}").get("prompt").asString();
        // the rendering stops right after the final message: its end of turn is not there
        assertThat(rendered).endsWith("Once upon a time");
        String full = postJson("/tokenize", """
                {"messages": %s, "add_generation_prompt": false}""".formatted(MESSAGES)).get("tokens").toString();
        assertThat(full.length()).isGreaterThan(tokens.toString().length());

        JsonNode chat = postJson("/v1/chat/completions", continuing(""));
        String content = chat.get("choices").get(0).get("message").get("content").asString();
        // the same prompt through /v1/completions continues the same way
        JsonNode completion = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": %s, "max_tokens": 12, "temperature": 0}""".formatted(tokens));
        assertThat(content).isEqualTo(completion.get("choices").get(0).get("text").asString()).isNotEmpty();
        assertThat(chat.get("usage").get("prompt_tokens").asInt()).isEqualTo(tokens.size());

        // echo: the reply starts with the message it continues, streamed or not
        JsonNode echoed = postJson("/v1/chat/completions", continuing(", \"echo\": true"));
        assertThat(echoed.get("choices").get(0).get("message").get("content").asString())
                .isEqualTo("Once upon a time" + content);
        List<JsonNode> chunks = stream("/v1/chat/completions", continuing(", \"echo\": true, \"stream\": true"));
        assertThat(chatText(chunks)).isEqualTo("Once upon a time" + content);
    }

    @Test
    void echoShowsOnlyTheRepliesOwnMessageAndContinuingNeedsNoGenerationPrompt() throws Exception {
        // the last message is the user's and a generation prompt is added: nothing to echo
        JsonNode r = postJson("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Hi there"}], "max_tokens": 3,
                 "temperature": 0, "echo": true}""");
        assertThat(r.get("choices").get(0).get("message").get("content").asString()).doesNotStartWith("Hi there");
        for (String body : List.of(
                "{\"messages\": " + MESSAGES + ", \"continue_final_message\": true}",
                "{\"messages\": " + MESSAGES + ", \"continue_final_message\": true, \"add_generation_prompt\": true}")) {
            HttpResponse<String> res = post("/v1/chat/completions", body);
            assertThat(res.statusCode()).as(res.body()).isEqualTo(400);
            JsonNode error = json.readTree(res.body()).get("error");
            assertThat(error.get("param").asString()).isEqualTo("continue_final_message");
            assertThat(error.get("message").asString()).contains("add_generation_prompt");
        }
        // a final message without text leaves nothing open to continue
        HttpResponse<String> empty = post("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}],
                 "add_generation_prompt": false, "continue_final_message": true}""");
        assertThat(empty.statusCode()).as(empty.body()).isEqualTo(400);
        assertThat(json.readTree(empty.body()).get("error").get("param").asString()).isEqualTo("continue_final_message");
    }
}
