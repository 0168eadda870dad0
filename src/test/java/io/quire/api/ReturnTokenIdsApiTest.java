package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * vLLM's {@code return_token_ids} over HTTP against stories260K: the prompt's token ids (a stream's
 * first chunk of each choice) and the output's, which detokenized make the text returned.
 */
class ReturnTokenIdsApiTest extends Stories260KServerTest {
    /** "Once upon a time". */
    private static final List<Integer> ONCE = List.of(1, 403, 407, 261, 378);

    private static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        if (array == null) return out;
        for (JsonNode v : array) out.add(v.asInt());
        return out;
    }

    private String detokenize(List<Integer> ids) throws Exception {
        return postJson("/detokenize", "{\"tokens\": " + ids + "}").get("prompt").asString();
    }

    @Test
    void completionsShowThePromptsAndTheOutputsIds() throws Exception {
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 12, "temperature": 0,
                 "return_token_ids": true}""");
        JsonNode choice = r.get("choices").get(0);
        assertThat(ints(choice.get("prompt_token_ids"))).isEqualTo(ONCE);
        List<Integer> out = ints(choice.get("token_ids"));
        assertThat(out).hasSize(r.get("usage").get("completion_tokens").asInt());
        assertThat(detokenize(out)).isEqualTo(choice.get("text").asString());
        JsonNode plain = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 2}""");
        assertThat(plain.get("choices").get(0).has("token_ids")).isFalse();
        assertThat(plain.get("choices").get(0).has("prompt_token_ids")).isFalse();
    }

    @Test
    void aCompletionStreamSendsThePromptsIdsOncePerChoiceAndEachChunksOwn() throws Exception {
        List<JsonNode> chunks = stream("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 10, "temperature": 0.8,
                 "seed": 5, "n": 2, "return_token_ids": true, "echo": true, "stream": true}""");
        for (int c = 0; c < 2; c++) {
            List<Integer> ids = new ArrayList<>();
            int promptIds = 0;
            for (JsonNode chunk : chunks) {
                JsonNode choice = chunk.get("choices").get(0);
                if (choice.get("index").asInt() != c) continue;
                if (choice.has("prompt_token_ids")) {
                    assertThat(ints(choice.get("prompt_token_ids"))).isEqualTo(ONCE);
                    assertThat(promptIds++).as("only in the choice's first chunk").isZero();
                }
                ids.addAll(ints(choice.get("token_ids")));
            }
            assertThat(promptIds).isEqualTo(1);
            assertThat(ids).hasSize(10);
            assertThat("Once upon a time" + detokenize(ids)).isEqualTo(completionText(chunks, c));
        }
    }

    @Test
    void idsOfTokensWhoseTextIsHeldBackAreStreamedToo() throws Exception {
        // a stop string that matches for a while and then does not: the text waits, the ids must not be lost
        String body = """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 12, "temperature": 0,
                 "return_token_ids": true, "stop": [", there was a little girl named Zq"]%s}""";
        List<Integer> whole = ints(postJson("/v1/completions", body.formatted("")).get("choices").get(0)
                .get("token_ids"));
        assertThat(whole).hasSize(12);
        List<Integer> streamed = new ArrayList<>();
        for (JsonNode c : stream("/v1/completions", body.formatted(", \"stream\": true"))) {
            for (JsonNode choice : c.get("choices")) streamed.addAll(ints(choice.get("token_ids")));
        }
        assertThat(streamed).isEqualTo(whole);
        String chat = """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Once upon a time"}],
                 "max_tokens": 12, "temperature": 0, "return_token_ids": true%s}""";
        String content = postJson("/v1/chat/completions", chat.formatted("")).get("choices").get(0).get("message")
                .get("content").asString();
        String stop = ", \"stop\": [" + json.writeValueAsString(content.substring(0, 20) + "Zq") + "]";
        List<Integer> chatWhole = ints(postJson("/v1/chat/completions", chat.formatted(stop)).get("choices").get(0)
                .get("token_ids"));
        List<Integer> chatStreamed = new ArrayList<>();
        for (JsonNode c : stream("/v1/chat/completions", chat.formatted(stop + ", \"stream\": true"))) {
            for (JsonNode choice : c.get("choices")) chatStreamed.addAll(ints(choice.get("token_ids")));
        }
        assertThat(chatStreamed).isEqualTo(chatWhole).hasSize(12);
    }

    @Test
    void chatShowsThemTooStreamedOrNot() throws Exception {
        String body = """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Once upon a time"}],
                 "max_tokens": 12, "temperature": 0, "return_token_ids": true%s}""";
        JsonNode r = postJson("/v1/chat/completions", body.formatted(""));
        List<Integer> prompt = ints(r.get("prompt_token_ids"));
        assertThat(prompt).hasSize(r.get("usage").get("prompt_tokens").asInt());
        List<Integer> out = ints(r.get("choices").get(0).get("token_ids"));
        assertThat(detokenize(out)).isEqualTo(r.get("choices").get(0).get("message").get("content").asString());

        List<JsonNode> chunks = stream("/v1/chat/completions", body.formatted(", \"stream\": true"));
        assertThat(ints(chunks.getFirst().get("prompt_token_ids"))).isEqualTo(prompt);
        List<Integer> streamed = new ArrayList<>();
        for (JsonNode c : chunks.subList(1, chunks.size())) {
            assertThat(c.has("prompt_token_ids")).isFalse();
            streamed.addAll(ints(c.get("choices").get(0).get("token_ids")));
        }
        assertThat(streamed).isEqualTo(out);
        assertThat(detokenize(streamed)).isEqualTo(chatText(chunks));
    }
}
