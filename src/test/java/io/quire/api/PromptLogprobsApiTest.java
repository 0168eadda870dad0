package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Prompt logprobs over HTTP against stories260K: {@code echo} with {@code logprobs} on
 * {@code /v1/completions} as lm-eval's loglikelihood tasks send it, and vLLM's {@code prompt_logprobs}
 * on both endpoints. The check that they are right: a greedy continuation sent back as a prompt gets,
 * at each of its tokens, the logprob it was generated with, and is the most likely token there.
 */
class PromptLogprobsApiTest extends Stories260KServerTest {
    /** "Once upon a time". */
    private static final int[] ONCE = {1, 403, 407, 261, 378};

    private record Greedy(List<Integer> ids, List<Double> logprobs) {}

    /** 8 greedy tokens after "Once upon a time", by id, each with the logprob it was sampled with. */
    private Greedy greedy() throws Exception {
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0,
                 "logprobs": 1, "return_tokens_as_token_ids": true}""");
        JsonNode lp = r.get("choices").get(0).get("logprobs");
        List<Integer> ids = new ArrayList<>();
        List<Double> logprobs = new ArrayList<>();
        for (int i = 0; i < lp.get("tokens").size(); i++) {
            ids.add(Integer.parseInt(lp.get("tokens").get(i).asString().substring("token_id:".length())));
            logprobs.add(lp.get("token_logprobs").get(i).asDouble());
        }
        return new Greedy(ids, logprobs);
    }

    private static String idsJson(Greedy g) {
        StringBuilder sb = new StringBuilder("[");
        for (int id : ONCE) sb.append(id).append(", ");
        for (int i = 0; i < g.ids().size(); i++) sb.append(g.ids().get(i)).append(i + 1 < g.ids().size() ? ", " : "]");
        return sb.toString();
    }

    @Test
    void echoWithLogprobsScoresAGreedyContinuationAsLmEvalReadsIt() throws Exception {
        Greedy g = greedy();
        // lm-eval's loglikelihood request: the context and continuation as token ids, echo, logprobs 1, max_tokens 1
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": %s, "max_tokens": 1, "temperature": 0, "logprobs": 1,
                 "echo": true, "seed": 1234}""".formatted(idsJson(g)));
        JsonNode choice = r.get("choices").get(0);
        JsonNode lp = choice.get("logprobs");
        int n = ONCE.length + g.ids().size();
        assertThat(lp.get("tokens").size()).isEqualTo(n + 1);
        assertThat(lp.get("token_logprobs").get(0).isNull()).isTrue();
        assertThat(lp.get("top_logprobs").get(0).isNull()).isTrue();
        assertThat(lp.get("tokens").get(0).asString()).isEqualTo("<s>");
        for (int i = 0; i < g.ids().size(); i++) {
            int at = ONCE.length + i;
            double logprob = lp.get("token_logprobs").get(at).asDouble();
            assertThat(logprob).as("token %d", at).isCloseTo(g.logprobs().get(i), within(1e-3));
            // lm-eval's is_greedy: the token's logprob is the best of its top_logprobs
            double best = Double.NEGATIVE_INFINITY;
            for (JsonNode v : lp.get("top_logprobs").get(at)) best = Math.max(best, v.asDouble());
            assertThat(logprob).isEqualTo(best);
            assertThat(lp.get("top_logprobs").get(at).size()).isBetween(1, 2);
        }
        // the echoed text, then the new token's; offsets run over the tokens shown
        assertThat(choice.get("text").asString()).startsWith("Once upon a time" + ONCE_UPON_A_TIME_32.substring(0, 20));
        int offset = 0;
        for (int i = 0; i <= n; i++) {
            assertThat(lp.get("text_offset").get(i).asInt()).isEqualTo(offset);
            offset += lp.get("tokens").get(i).asString().length();
        }
        assertThat(r.get("usage").get("prompt_tokens").asInt()).isEqualTo(n);
        assertThat(r.get("usage").get("completion_tokens").asInt()).isEqualTo(1);
        // as vLLM, the prompt's logprobs are in prompt_logprobs too, and agree
        JsonNode prompt = choice.get("prompt_logprobs");
        assertThat(prompt.size()).isEqualTo(n);
        assertThat(prompt.get(0).isNull()).isTrue();
        for (int i = 1; i < n; i++) {
            int id = i < ONCE.length ? ONCE[i] : g.ids().get(i - ONCE.length);
            assertThat(prompt.get(i).get(Integer.toString(id)).get("logprob").asDouble())
                    .isEqualTo(lp.get("token_logprobs").get(i).asDouble());
        }
    }

    @Test
    void promptLogprobsGiveEachTokenItsRankAndTheTopK() throws Exception {
        Greedy g = greedy();
        JsonNode r = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": %s, "max_tokens": 1, "temperature": 0, "prompt_logprobs": 2}"""
                .formatted(idsJson(g)));
        JsonNode choice = r.get("choices").get(0);
        assertThat(choice.get("logprobs").isNull()).as("logprobs not asked for").isTrue();
        JsonNode prompt = choice.get("prompt_logprobs");
        int n = ONCE.length + g.ids().size();
        assertThat(prompt.size()).isEqualTo(n);
        assertThat(prompt.get(0).isNull()).isTrue();
        for (int i = 1; i < n; i++) {
            int id = i < ONCE.length ? ONCE[i] : g.ids().get(i - ONCE.length);
            JsonNode position = prompt.get(i);
            List<String> keys = new ArrayList<>();
            position.propertyNames().forEach(keys::add);
            // the prompt's own token first, then the top 2 (one entry fewer when it is among them)
            assertThat(keys.getFirst()).isEqualTo(Integer.toString(id));
            assertThat(keys.size()).isBetween(2, 3);
            JsonNode own = position.get(Integer.toString(id));
            assertThat(own.get("rank").asInt()).isPositive();
            assertThat(own.get("decoded_token").isString()).isTrue();
            if (i >= ONCE.length) {
                // a greedy token is the most likely one
                assertThat(own.get("rank").asInt()).isEqualTo(1);
                assertThat(own.get("logprob").asDouble()).isCloseTo(g.logprobs().get(i - ONCE.length), within(1e-3));
            }
            double previous = 0;
            for (int k = 1; k <= 2; k++) {
                JsonNode top = null;
                for (String key : keys) if (position.get(key).get("rank").asInt() == k) top = position.get(key);
                assertThat(top).as("rank %d at %d", k, i).isNotNull();
                assertThat(top.get("logprob").asDouble()).isLessThanOrEqualTo(previous);
                previous = top.get("logprob").asDouble();
            }
        }
    }

    @Test
    void streamedEchoWithLogprobsStartsEachChoiceWithThePrompts() throws Exception {
        String body = """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 3, "temperature": 0, "logprobs": 0,
                 "echo": true, "n": 2%s}""";
        JsonNode whole = postJson("/v1/completions", body.formatted(""));
        List<JsonNode> chunks = stream("/v1/completions", body.formatted(", \"stream\": true"));
        for (int c = 0; c < 2; c++) {
            List<String> tokens = new ArrayList<>();
            List<JsonNode> logprobs = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            for (JsonNode chunk : chunks) {
                JsonNode choice = chunk.get("choices").get(0);
                if (choice.get("index").asInt() != c) continue;
                assertThat(choice.has("prompt_logprobs")).isFalse();
                text.append(choice.get("text").asString());
                JsonNode lp = choice.get("logprobs");
                for (int i = 0; i < lp.get("tokens").size(); i++) {
                    tokens.add(lp.get("tokens").get(i).asString());
                    logprobs.add(lp.get("token_logprobs").get(i));
                }
            }
            JsonNode expected = whole.get("choices").get(c).get("logprobs");
            assertThat(text.toString()).isEqualTo(whole.get("choices").get(c).get("text").asString());
            assertThat(tokens).hasSize(ONCE.length + 3);
            for (int i = 0; i < tokens.size(); i++) {
                assertThat(tokens.get(i)).isEqualTo(expected.get("tokens").get(i).asString());
                if (i == 0) assertThat(logprobs.get(i).isNull()).isTrue();
                else assertThat(logprobs.get(i).asDouble()).isCloseTo(expected.get("token_logprobs").get(i).asDouble(),
                        within(1e-3));
            }
        }
    }

    @Test
    void echoWithMaxTokensZeroReturnsThePromptAloneScored() throws Exception {
        String body = """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 0, "logprobs": 0, "echo": true%s}""";
        JsonNode r = postJson("/v1/completions", body.formatted(""));
        JsonNode choice = r.get("choices").get(0);
        assertThat(choice.get("text").asString()).isEqualTo("Once upon a time");
        assertThat(choice.get("finish_reason").asString()).isEqualTo("length");
        JsonNode lp = choice.get("logprobs");
        assertThat(lp.get("tokens").size()).isEqualTo(ONCE.length);
        assertThat(lp.get("token_logprobs").get(0).isNull()).isTrue();
        for (int i = 1; i < ONCE.length; i++) assertThat(lp.get("token_logprobs").get(i).asDouble()).isNegative();
        // as vLLM: the one token the engine ran is counted, not shown
        assertThat(r.get("usage").get("completion_tokens").asInt()).isEqualTo(1);
        List<JsonNode> chunks = stream("/v1/completions", body.formatted(", \"stream\": true"));
        assertThat(completionText(chunks, 0)).isEqualTo("Once upon a time");
        int tokens = 0;
        for (JsonNode c : chunks) tokens += c.get("choices").get(0).get("logprobs").get("tokens").size();
        assertThat(tokens).isEqualTo(ONCE.length);
        assertThat(chunks.getLast().get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
        // without echo, 0 is still refused
        HttpResponse<String> zero = post("/v1/completions", "{\"prompt\": \"Hi\", \"max_tokens\": 0}");
        assertThat(zero.statusCode()).isEqualTo(400);
        assertThat(json.readTree(zero.body()).get("error").get("param").asString()).isEqualTo("max_tokens");
    }

    @Test
    void echoedPromptPositionsShowAtMostLogprobsAlternativesWhateverPromptLogprobsComputed() throws Exception {
        JsonNode choice = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 2, "temperature": 0, "echo": true,
                 "logprobs": 1, "prompt_logprobs": 5}""").get("choices").get(0);
        // as vLLM: the token and the top 1 in the logprobs; the prompt_logprobs field keeps its top 5
        for (JsonNode t : choice.get("logprobs").get("top_logprobs")) {
            if (!t.isNull()) assertThat(t.size()).isBetween(1, 2);
        }
        assertThat(choice.get("prompt_logprobs").get(1).size()).isBetween(5, 6);
    }

    @Test
    void aStreamedEchoWithLogprobsAbortedBeforeItsPromptRanEndsWithAnAbortChunk() throws Exception {
        CompletableFuture<HttpResponse<String>> first, echoed;
        try (EngineHold hold = EngineHold.afterSteps(engine, 1)) {
            first = sendAsync("""
                    {"prompt": "Once upon a time", "max_tokens": 200, "ignore_eos": true, "stream": true}""");
            hold.awaitHeld();
            echoed = sendAsync("""
                    {"prompt": "Once upon a time", "max_tokens": 5, "echo": true, "logprobs": 1, "stream": true}""");
            while (engine.numActiveRequests() < 2) Thread.sleep(10);
            engine.abortAll();  // what a graceful shutdown does when its grace runs out
        }
        first.get(60, TimeUnit.SECONDS);
        String body = echoed.get(60, TimeUnit.SECONDS).body();
        // the echo without scores (the prompt never ran), then the end: not a 500 error event
        assertThat(body).contains("\"text\":\"Once upon a time\"").contains("\"finish_reason\":\"abort\"")
                .doesNotContain("\"error\"").endsWith("data: [DONE]\n\n");
    }

    private CompletableFuture<HttpResponse<String>> sendAsync(String body) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void chatPromptLogprobsCoverTheRenderedPrompt() throws Exception {
        JsonNode r = postJson("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Once upon a time"}],
                 "max_tokens": 2, "temperature": 0, "prompt_logprobs": 1}""");
        JsonNode prompt = r.get("prompt_logprobs");
        assertThat(prompt.size()).isEqualTo(r.get("usage").get("prompt_tokens").asInt());
        assertThat(prompt.get(0).isNull()).isTrue();
        for (int i = 1; i < prompt.size(); i++) assertThat(prompt.get(i).size()).isBetween(1, 2);
        assertThat(r.get("choices").get(0).get("logprobs").isNull()).isTrue();
        // without it, no such field
        JsonNode plain = postJson("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}""");
        assertThat(plain.has("prompt_logprobs")).isFalse();
    }

    @Test
    void promptLogprobsAreRefusedWhereVllmRefusesThem() throws Exception {
        String[][] bad = {
                {"/v1/completions", "{\"prompt\": \"Hi\", \"prompt_logprobs\": 1, \"stream\": true}",
                        "`prompt_logprobs` are not available when `stream=True`."},
                {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
                        + " \"prompt_logprobs\": 2, \"stream\": true}", "`prompt_logprobs` are not available"},
                {"/v1/completions", "{\"prompt\": \"Hi\", \"prompt_logprobs\": -1}", "between 0 and 20"},
                {"/v1/completions", "{\"prompt\": \"Hi\", \"prompt_logprobs\": 21}", "between 0 and 20"},
                {"/v1/completions", "{\"prompt\": \"Hi\", \"prompt_logprobs\": \"2\"}", "prompt_logprobs"},
        };
        for (String[] b : bad) {
            HttpResponse<String> res = post(b[0], b[1]);
            assertThat(res.statusCode()).as(b[1] + ": " + res.body()).isEqualTo(400);
            JsonNode error = json.readTree(res.body()).get("error");
            assertThat(error.get("param").asString()).isEqualTo("prompt_logprobs");
            assertThat(error.get("message").asString()).contains(b[2]);
        }
        // 0 adds nothing to a stream, so passes (as vLLM)
        List<JsonNode> chunks = stream("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 2, "temperature": 0,
                 "prompt_logprobs": 0, "stream": true}""");
        assertThat(ONCE_UPON_A_TIME_32).startsWith(completionText(chunks, 0));
    }
}
