package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code /v1/chat/completions} against stories260K, which has no chat template: prompts use the
 * documented {@code role: content} fallback.
 */
class ChatApiTest extends Stories260KServerTest {
    private static final String MESSAGES = """
            [{"role": "system", "content": "You tell stories."}, {"role": "user", "content": "Tell me about Lily"}]""";

    @Test
    void streamedChatStartsWithTheRoleAndMatchesTheNonStreamedReply() throws Exception {
        List<JsonNode> chunks = stream("/v1/chat/completions", """
                {"model": "stories260K", "messages": %s, "max_tokens": 12, "temperature": 0, "stream": true,
                 "stream_options": {"include_usage": true}}""".formatted(MESSAGES));
        JsonNode first = chunks.getFirst();
        String id = first.get("id").asString();
        assertThat(id).startsWith("chatcmpl-");
        JsonNode firstChoice = first.get("choices").get(0);
        assertThat(firstChoice.get("delta").get("role").asString()).isEqualTo("assistant");
        assertThat(firstChoice.get("finish_reason").isNull()).isTrue();
        for (int i = 0; i < chunks.size() - 1; i++) {
            JsonNode c = chunks.get(i);
            assertThat(c.get("object").asString()).isEqualTo("chat.completion.chunk");
            assertThat(c.get("id").asString()).isEqualTo(id);
            assertThat(c.get("model").asString()).isEqualTo(MODEL);
            JsonNode choice = c.get("choices").get(0);
            if (i > 0) assertThat(choice.get("delta").has("role")).as("role only in the first chunk").isFalse();
            assertThat(choice.get("finish_reason").isNull()).isEqualTo(i < chunks.size() - 2);
        }
        JsonNode usageChunk = chunks.getLast();
        assertThat(usageChunk.get("choices").isEmpty()).isTrue();
        assertThat(usageChunk.get("usage").get("completion_tokens").asInt()).isEqualTo(12);

        JsonNode r = postJson("/v1/chat/completions", """
                {"model": "stories260K", "messages": %s, "max_tokens": 12, "temperature": 0}""".formatted(MESSAGES));
        assertThat(r.get("id").asString()).startsWith("chatcmpl-");
        assertThat(r.get("object").asString()).isEqualTo("chat.completion");
        JsonNode choice = r.get("choices").get(0);
        assertThat(choice.get("index").asInt()).isZero();
        assertThat(choice.get("message").get("role").asString()).isEqualTo("assistant");
        assertThat(choice.get("message").get("content").asString()).isEqualTo(chatText(chunks)).isNotEmpty();
        assertThat(choice.get("finish_reason").asString()).isEqualTo("length");
        assertThat(r.get("usage")).isEqualTo(usageChunk.get("usage"));
    }

    @Test
    void promptIsTheRenderedTemplateTokenizedOnce() throws Exception {
        JsonNode tokens = postJson("/tokenize", """
                {"model": "stories260K", "messages": %s}""".formatted(MESSAGES));
        JsonNode plain = postJson("/tokenize", """
                {"prompt": "system: You tell stories.\\nuser: Tell me about Lily\\nassistant:"}""");
        // The fallback template writes no BOS, so the tokenizer adds the model's one BOS.
        assertThat(tokens.get("tokens")).isEqualTo(plain.get("tokens"));
        assertThat(tokens.get("tokens").get(0).asInt()).isEqualTo(1);
        assertThat(tokens.get("tokens").get(1).asInt()).isNotEqualTo(1);
        JsonNode r = postJson("/v1/chat/completions", """
                {"model": "stories260K", "messages": %s, "max_completion_tokens": 3, "temperature": 0}""".formatted(MESSAGES));
        assertThat(r.get("usage").get("prompt_tokens").asInt()).isEqualTo(tokens.get("count").asInt());
        assertThat(r.get("usage").get("completion_tokens").asInt()).isEqualTo(3);
    }

    @Test
    void contentPartsAreTheSameAsAString() throws Exception {
        JsonNode parts = postJson("/v1/chat/completions", """
                {"model": "stories260K", "max_tokens": 6, "temperature": 0,
                 "messages": [{"role": "user", "content": [{"type": "text", "text": "Tell me"}, {"type": "text", "text": "about Lily"}]}]}""");
        JsonNode string = postJson("/v1/chat/completions", """
                {"model": "stories260K", "max_tokens": 6, "temperature": 0,
                 "messages": [{"role": "user", "content": "Tell me\\nabout Lily"}]}""");
        assertThat(parts.get("choices").get(0).get("message")).isEqualTo(string.get("choices").get(0).get("message"));
        assertThat(parts.get("usage")).isEqualTo(string.get("usage"));
    }

    @Test
    void chatLogprobs() throws Exception {
        JsonNode r = postJson("/v1/chat/completions", """
                {"model": "stories260K", "messages": %s, "max_tokens": 4, "temperature": 0, "logprobs": true, "top_logprobs": 2}""".formatted(MESSAGES));
        JsonNode content = r.get("choices").get(0).get("logprobs").get("content");
        assertThat(content.size()).isEqualTo(4);
        StringBuilder text = new StringBuilder();
        for (JsonNode t : content) {
            text.append(t.get("token").asString());
            assertThat(t.get("logprob").asDouble()).isLessThanOrEqualTo(0.0);
            assertThat(t.get("bytes").isArray()).isTrue();
            assertThat(t.get("top_logprobs").size()).isEqualTo(2);
            assertThat(t.get("top_logprobs").get(0).get("token").asString()).isEqualTo(t.get("token").asString());
        }
        assertThat(text.toString()).isEqualTo(r.get("choices").get(0).get("message").get("content").asString());
        JsonNode without = postJson("/v1/chat/completions", """
                {"model": "stories260K", "messages": %s, "max_tokens": 4, "temperature": 0}""".formatted(MESSAGES));
        assertThat(without.get("choices").get(0).get("logprobs").isNull()).isTrue();
    }

    @Test
    void chatTemplateErrorsAreBadRequests() throws Exception {
        var r = post("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""");
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode error = json.readTree(r.body()).get("error");
        assertThat(error.get("param").asString()).isEqualTo("messages");
        assertThat(error.get("message").asString()).contains("text");
    }
}
