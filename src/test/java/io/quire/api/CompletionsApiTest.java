package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code /v1/completions} against stories260K through the real engine. */
class CompletionsApiTest extends Stories260KServerTest {

    @Test
    void greedyStreamedCompletionMatchesLlamaCpp() throws Exception {
        List<JsonNode> chunks = stream("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 32, "temperature": 0, "stream": true}""");
        assertThat(completionText(chunks, 0)).isEqualTo(ONCE_UPON_A_TIME_32);
        String id = chunks.getFirst().get("id").asString();
        assertThat(id).startsWith("cmpl-");
        for (int i = 0; i < chunks.size(); i++) {
            JsonNode c = chunks.get(i);
            assertThat(c.get("id").asString()).isEqualTo(id);
            assertThat(c.get("object").asString()).isEqualTo("text_completion");
            assertThat(c.get("model").asString()).isEqualTo(MODEL);
            assertThat(c.get("created").asLong()).isPositive();
            assertThat(c.has("usage")).as("no usage without stream_options.include_usage").isFalse();
            JsonNode choice = c.get("choices").get(0);
            assertThat(choice.get("index").asInt()).isZero();
            assertThat(choice.has("logprobs")).isTrue();
            assertThat(choice.get("finish_reason").isNull()).as("finish_reason null until the end")
                    .isEqualTo(i < chunks.size() - 1);
        }
        assertThat(chunks.getLast().get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
    }

    @Test
    void nonStreamedCompletionHasTextAndUsage() throws Exception {
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 32, "temperature": 0, "some_future_field": {"x": 1}}""");
        assertThat(r.get("id").asString()).startsWith("cmpl-");
        assertThat(r.get("object").asString()).isEqualTo("text_completion");
        assertThat(r.get("model").asString()).isEqualTo(MODEL);
        JsonNode choice = r.get("choices").get(0);
        assertThat(choice.get("text").asString()).isEqualTo(ONCE_UPON_A_TIME_32);
        assertThat(choice.get("finish_reason").asString()).isEqualTo("length");
        assertThat(choice.get("logprobs").isNull()).isTrue();
        assertThat(r.get("usage").get("prompt_tokens").asInt()).isEqualTo(5);
        assertThat(r.get("usage").get("completion_tokens").asInt()).isEqualTo(32);
        assertThat(r.get("usage").get("total_tokens").asInt()).isEqualTo(37);
    }

    @Test
    void includeUsageAddsAFinalChunkWithoutChoices() throws Exception {
        List<JsonNode> chunks = stream("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 6, "temperature": 0,
                 "stream": true, "stream_options": {"include_usage": true}}""");
        JsonNode last = chunks.getLast();
        assertThat(last.get("choices").isEmpty()).isTrue();
        assertThat(last.get("usage").get("prompt_tokens").asInt()).isEqualTo(5);
        assertThat(last.get("usage").get("completion_tokens").asInt()).isEqualTo(6);
        assertThat(last.get("usage").get("total_tokens").asInt()).isEqualTo(11);
        assertThat(chunks.get(chunks.size() - 2).get("choices").get(0).get("finish_reason").asString())
                .isEqualTo("length");
        assertThat(ONCE_UPON_A_TIME_32).startsWith(completionText(chunks, 0));
    }

    @Test
    void continuousUsageStatsPutEachChoicesCountsSoFarInEveryChunk() throws Exception {
        List<JsonNode> chunks = stream("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 6, "temperature": 0, "n": 2,
                 "stream": true, "stream_options": {"include_usage": true, "continuous_usage_stats": true}}""");
        int[] made = new int[2];
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            JsonNode choice = c.get("choices").get(0);
            int i = choice.get("index").asInt();
            made[i]++;  // stories260K: one token a chunk
            JsonNode usage = c.get("usage");
            assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(5);
            assertThat(usage.get("completion_tokens").asInt()).isEqualTo(made[i]);
            assertThat(usage.get("total_tokens").asInt()).isEqualTo(5 + made[i]);
        }
        assertThat(made).containsExactly(6, 6);
        assertThat(chunks.getLast().get("usage").get("completion_tokens").asInt()).isEqualTo(12);
        // the chat stream's role chunk counts none yet
        List<JsonNode> chat = stream("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3,
                 "stream": true, "stream_options": {"include_usage": true, "continuous_usage_stats": true}}""");
        assertThat(chat.getFirst().get("usage").get("completion_tokens").asInt()).isZero();
        assertThat(chat.get(chat.size() - 2).get("usage").get("completion_tokens").asInt()).isEqualTo(3);
        // tokens whose text a stop string holds back count as they are made
        List<JsonNode> held = stream("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 12, "temperature": 0,
                 "stop": [", there was a little girl named Zq"], "stream": true,
                 "stream_options": {"include_usage": true, "continuous_usage_stats": true}}""");
        assertThat(held.get(held.size() - 2).get("usage").get("completion_tokens").asInt()).isEqualTo(12);
        // without include_usage it adds nothing, as in vLLM
        List<JsonNode> plain = stream("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 2, "stream": true,
                 "stream_options": {"continuous_usage_stats": true}}""");
        for (JsonNode c : plain) assertThat(c.has("usage")).isFalse();
    }

    @Test
    void truncatePromptTokensKeepsThePromptsLastTokensOrWithRightItsFirst() throws Exception {
        // "Once upon a time" is [1, 403, 407, 261, 378]: two tokens before it, or after it, are cut off.
        JsonNode left = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": [1, 50, 60, 1, 403, 407, 261, 378], "max_tokens": 8, "temperature": 0,
                 "truncate_prompt_tokens": 5, "echo": true}""");
        assertThat(left.get("usage").get("prompt_tokens").asInt()).isEqualTo(5);
        JsonNode right = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": [1, 403, 407, 261, 378, 50, 60], "max_tokens": 8, "temperature": 0,
                 "truncate_prompt_tokens": 5, "truncation_side": "right"}""");
        assertThat(right.get("usage").get("prompt_tokens").asInt()).isEqualTo(5);
        String continuation = right.get("choices").get(0).get("text").asString();
        assertThat(ONCE_UPON_A_TIME_32).startsWith(continuation);
        // echo returns the prompt that ran: the kept tokens' text, then the same continuation
        assertThat(left.get("choices").get(0).get("text").asString()).endsWith("Once upon a time" + continuation);
        // -1 keeps up to the context length: a short prompt is whole
        JsonNode whole = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 2, "truncate_prompt_tokens": -1}""");
        assertThat(whole.get("usage").get("prompt_tokens").asInt()).isEqualTo(5);
        JsonNode chat = postJson("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Once upon a time there was a dog"}],
                 "max_tokens": 2, "truncate_prompt_tokens": 3}""");
        assertThat(chat.get("usage").get("prompt_tokens").asInt()).isEqualTo(3);
        for (String bad : new String[] {"\"truncate_prompt_tokens\": 0", "\"truncate_prompt_tokens\": -2",
                "\"truncate_prompt_tokens\": 100000", "\"truncate_prompt_tokens\": 2, \"truncation_side\": \"middle\""}) {
            var res = post("/v1/completions", "{\"prompt\": \"Once upon a time\", " + bad + "}");
            assertThat(res.statusCode()).as(bad + ": " + res.body()).isEqualTo(400);
            assertThat(json.readTree(res.body()).get("error").get("param").asString())
                    .isEqualTo(bad.contains("middle") ? "truncation_side" : "truncate_prompt_tokens");
        }
    }

    @Test
    void allowedTokenIdsAreTheOnlyTokensSampled() throws Exception {
        int[] allowed = {403, 407, 261};  // three of "Once upon a time"'s tokens
        java.util.Set<String> pieces = new java.util.HashSet<>();
        for (int id : allowed) {
            pieces.add(postJson("/detokenize", "{\"tokens\": [" + id + "]}").get("prompt").asString());
        }
        for (String extra : new String[] {"\"temperature\": 1.0, \"seed\": 7", "\"temperature\": 0",
                "\"n\": 2, \"temperature\": 1.0", "\"guided_regex\": \"[a-z ]*\", \"temperature\": 1.0, \"seed\": 3"}) {
            JsonNode r = postJson("/v1/completions", """
                    {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 12, "logprobs": 1,
                     "allowed_token_ids": [403, 407, 261], %s}""".formatted(extra));
            for (JsonNode choice : r.get("choices")) {
                JsonNode tokens = choice.get("logprobs").get("tokens");
                assertThat(tokens.size()).as(extra).isPositive();
                for (JsonNode t : tokens) assertThat(pieces).as(extra).contains(t.asString());
            }
        }
        for (String bad : new String[] {"[]", "[100000]", "[-1]"}) {
            var res = post("/v1/completions", "{\"prompt\": \"Hi\", \"allowed_token_ids\": " + bad + "}");
            assertThat(res.statusCode()).as(bad + ": " + res.body()).isEqualTo(400);
            assertThat(json.readTree(res.body()).get("error").get("param").asString()).isEqualTo("allowed_token_ids");
        }
    }

    @Test
    void badWordsKeepGreedyOutputOffThemAsInVllm() throws Exception {
        // The reference continues ", there was a little girl named Lily. ..."
        assertThat(ONCE_UPON_A_TIME_32).contains("little girl named Lily");
        for (String body : new String[] {"/v1/completions", "/v1/chat/completions"}) {
            String text;
            if (body.equals("/v1/completions")) {
                JsonNode r = postJson(body, """
                        {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 32, "temperature": 0,
                         "bad_words": ["Lily", "little girl"]}""");
                text = r.get("choices").get(0).get("text").asString();
                assertThat(text).startsWith(", there was a little");
            } else {
                JsonNode r = postJson(body, """
                        {"model": "stories260K", "messages": [{"role": "user", "content": "Lily"}], "max_tokens": 32,
                         "temperature": 0, "bad_words": ["Lily", "little girl"]}""");
                text = r.get("choices").get(0).get("message").get("content").asString();
            }
            assertThat(text).as(body).doesNotContain("Lily").doesNotContain("little girl");
        }
        var empty = post("/v1/completions", "{\"prompt\": \"Hi\", \"bad_words\": [\"  \"]}");
        assertThat(empty.statusCode()).as(empty.body()).isEqualTo(400);
        assertThat(json.readTree(empty.body()).get("error").get("param").asString()).isEqualTo("bad_words");
    }

    @Test
    void returnTokensAsTokenIdsShowsEveryLogprobTokenAsItsId() throws Exception {
        JsonNode c = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 6, "temperature": 0,
                 "logprobs": 2, "return_tokens_as_token_ids": true}""");
        JsonNode lp = c.get("choices").get(0).get("logprobs");
        assertThat(c.get("choices").get(0).get("text").asString()).isEqualTo(ONCE_UPON_A_TIME_32.substring(0,
                c.get("choices").get(0).get("text").asString().length()));
        int offset = lp.get("text_offset").get(0).asInt();
        for (int i = 0; i < lp.get("tokens").size(); i++) {
            String token = lp.get("tokens").get(i).asString();
            assertThat(token).matches("token_id:\\d+");
            assertThat(lp.get("text_offset").get(i).asInt()).isEqualTo(offset);  // offsets run over what is shown
            offset += token.length();
            for (String key : lp.get("top_logprobs").get(i).propertyNames()) assertThat(key).matches("token_id:\\d+");
        }
        // The ids are the tokens sampled: detokenized, they make the text.
        StringBuilder ids = new StringBuilder();
        for (JsonNode t : lp.get("tokens")) ids.append(ids.isEmpty() ? "" : ",").append(t.asString().substring(9));
        assertThat(postJson("/detokenize", "{\"tokens\": [" + ids + "]}").get("prompt").asString())
                .isEqualTo(c.get("choices").get(0).get("text").asString());
        JsonNode chat = postJson("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4,
                 "logprobs": true, "top_logprobs": 2, "return_tokens_as_token_ids": true}""");
        for (JsonNode t : chat.get("choices").get(0).get("logprobs").get("content")) {
            String token = t.get("token").asString();
            assertThat(token).matches("token_id:\\d+");
            assertThat(t.get("bytes").size()).isEqualTo(token.length());  // the bytes of what is shown, as vLLM
            for (JsonNode alt : t.get("top_logprobs")) assertThat(alt.get("token").asString()).matches("token_id:\\d+");
        }
    }

    @Test
    void tokenIdPromptsAndSeveralPrompts() throws Exception {
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": [[1, 403, 407, 261, 378], "Once upon a time", "Tom"], "max_tokens": 8, "temperature": 0}""");
        JsonNode choices = r.get("choices");
        assertThat(choices.size()).isEqualTo(3);
        for (int i = 0; i < 3; i++) assertThat(choices.get(i).get("index").asInt()).isEqualTo(i);
        assertThat(choices.get(0).get("text").asString()).isEqualTo(choices.get(1).get("text").asString());
        assertThat(ONCE_UPON_A_TIME_32).startsWith(choices.get(0).get("text").asString());
        JsonNode tom = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Tom", "max_tokens": 8, "temperature": 0}""");
        assertThat(choices.get(2).get("text").asString()).isEqualTo(tom.get("choices").get(0).get("text").asString());
        int tomPrompt = tom.get("usage").get("prompt_tokens").asInt();
        assertThat(r.get("usage").get("prompt_tokens").asInt()).isEqualTo(5 + 5 + tomPrompt);
        assertThat(r.get("usage").get("completion_tokens").asInt()).isEqualTo(24);

        JsonNode single = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": [1, 403, 407, 261, 378], "max_tokens": 8, "temperature": 0}""");
        assertThat(single.get("choices").get(0).get("text").asString())
                .isEqualTo(choices.get(0).get("text").asString());
    }

    @Test
    void streamedSeveralPromptsKeepTheirOwnIndex() throws Exception {
        List<JsonNode> chunks = stream("/v1/completions", """
                {"model": "stories260K", "prompt": ["Once upon a time", "Tom"], "max_tokens": 8, "temperature": 0, "stream": true,
                 "stream_options": {"include_usage": true}}""");
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": ["Once upon a time", "Tom"], "max_tokens": 8, "temperature": 0}""");
        assertThat(completionText(chunks, 0)).isEqualTo(r.get("choices").get(0).get("text").asString());
        assertThat(completionText(chunks, 1)).isEqualTo(r.get("choices").get(1).get("text").asString());
        assertThat(chunks.getLast().get("usage")).isEqualTo(r.get("usage"));
    }

    @Test
    void echoPrependsThePrompt() throws Exception {
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 4, "temperature": 0, "echo": true}""");
        String text = r.get("choices").get(0).get("text").asString();
        assertThat(text).startsWith("Once upon a time, there")
                .isEqualTo("Once upon a time" + ONCE_UPON_A_TIME_32.substring(0, text.length() - 16));
        List<JsonNode> chunks = stream("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 4, "temperature": 0, "echo": true, "stream": true}""");
        assertThat(completionText(chunks, 0)).isEqualTo(text);
    }

    @Test
    void stopStringEndsTheCompletion() throws Exception {
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 32, "temperature": 0, "stop": [" Lily"]}""");
        JsonNode choice = r.get("choices").get(0);
        assertThat(choice.get("text").asString()).isEqualTo(", there was a little girl named");
        assertThat(choice.get("finish_reason").asString()).isEqualTo("stop");
    }

    @Test
    void logprobsInTheLegacyShape() throws Exception {
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 5, "temperature": 0, "logprobs": 3}""");
        JsonNode lp = r.get("choices").get(0).get("logprobs");
        assertThat(lp.get("tokens").size()).isEqualTo(5);
        assertThat(lp.get("token_logprobs").size()).isEqualTo(5);
        assertThat(lp.get("text_offset").size()).isEqualTo(5);
        assertThat(lp.get("top_logprobs").size()).isEqualTo(5);
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            assertThat(lp.get("text_offset").get(i).asInt()).isEqualTo(joined.length());
            String token = lp.get("tokens").get(i).asString();
            joined.append(token);
            double logprob = lp.get("token_logprobs").get(i).asDouble();
            assertThat(logprob).isLessThanOrEqualTo(0.0);
            JsonNode top = lp.get("top_logprobs").get(i);
            assertThat(top.size()).isBetween(1, 3);
            // Greedy: the sampled token is the most likely one.
            assertThat(top.get(token)).isNotNull();
            assertThat(top.get(token).asDouble()).isEqualTo(logprob);
        }
        assertThat(joined.toString()).isEqualTo(r.get("choices").get(0).get("text").asString());
    }

    @Test
    void seededSamplingIsReproducible() throws Exception {
        String body = """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 24, "temperature": 1.0, "seed": %d}""";
        String a = postJson("/v1/completions", body.formatted(1234)).get("choices").get(0).get("text").asString();
        String b = postJson("/v1/completions", body.formatted(1234)).get("choices").get(0).get("text").asString();
        String streamed = completionText(stream("/v1/completions",
                body.formatted(1234).replace("}", ", \"stream\": true}")), 0);
        String other = postJson("/v1/completions", body.formatted(99)).get("choices").get(0).get("text").asString();
        assertThat(b).isEqualTo(a);
        assertThat(streamed).isEqualTo(a);
        assertThat(other).isNotEqualTo(a);
        assertThat(a).isNotEqualTo(ONCE_UPON_A_TIME_32.substring(0,
                Math.min(a.length(), ONCE_UPON_A_TIME_32.length())));
    }

    @Test
    void defaultMaxTokensIsSixteen() throws Exception {
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "temperature": 0, "ignore_eos": true}""");
        assertThat(r.get("usage").get("completion_tokens").asInt()).isEqualTo(16);
    }
}
