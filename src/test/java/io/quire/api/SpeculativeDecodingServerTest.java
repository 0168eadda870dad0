package io.quire.api;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;
import tools.jackson.databind.JsonNode;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A server started with vLLM's n-gram speculative decoding on stories260K, over real HTTP: greedy text
 * is still llama.cpp's, streamed chunks carry the several tokens a step keeps (their logprobs one per
 * token), streamed and whole answers agree, and {@code /metrics} shows vLLM's spec-decode counters.
 */
@TestPropertySource(properties = "quire.speculative-config={\"method\": \"ngram\", \"num_speculative_tokens\": 3,"
        + " \"prompt_lookup_max\": 4, \"prompt_lookup_min\": 1}")
class SpeculativeDecodingServerTest extends Stories260KServerTest {

    /** A streamed completion's text, token count (by its logprobs) and number of chunks with tokens. */
    private record Streamed(String text, int tokens, int chunks) {}

    private Streamed stream(String body) throws Exception {
        List<JsonNode> events = stream("/v1/completions", body);
        int tokens = 0, chunks = 0;
        for (JsonNode e : events) {
            JsonNode choices = e.get("choices");
            if (choices == null || choices.isEmpty()) continue;
            JsonNode lp = choices.get(0).get("logprobs");
            if (lp == null || lp.isNull() || lp.get("tokens").isEmpty()) continue;
            tokens += lp.get("tokens").size();
            assertThat(lp.get("token_logprobs").size()).isEqualTo(lp.get("tokens").size());
            assertThat(lp.get("top_logprobs").size()).isEqualTo(lp.get("tokens").size());
            chunks++;
        }
        return new Streamed(completionText(events, 0), tokens, chunks);
    }

    @Test
    void greedyTextIsUnchangedAndAStepsTokensComeInOneChunk() throws Exception {
        Streamed s = stream("{\"prompt\": \"Once upon a time\", \"max_tokens\": 32, \"temperature\": 0,"
                + " \"stream\": true, \"logprobs\": 1}");
        assertThat(s.text()).isEqualTo(ONCE_UPON_A_TIME_32);
        assertThat(s.tokens()).isEqualTo(32);

        String body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 300, \"temperature\": 0,"
                + " \"ignore_eos\": true, \"logprobs\": 1";
        Streamed longer = stream(body + ", \"stream\": true}");
        JsonNode answer = postJson("/v1/completions", body + "}");
        assertThat(answer.get("choices").get(0).get("text").asString()).isEqualTo(longer.text());
        assertThat(answer.get("usage").get("completion_tokens").asInt()).isEqualTo(300);
        assertThat(answer.get("choices").get(0).get("logprobs").get("tokens").size()).isEqualTo(300);
        assertThat(longer.tokens()).isEqualTo(300);
        assertThat(longer.chunks()).as("chunks of 300 tokens: kept drafts arrive with their step's token")
                .isLessThan(300);

        String metrics = get("/metrics").body();
        assertThat(metrics).contains("# TYPE vllm:spec_decode_num_drafts_total counter",
                "vllm:spec_decode_num_draft_tokens_total{", "vllm:spec_decode_num_accepted_tokens_per_pos_total{");
        Matcher m = Pattern.compile("(?m)^vllm:spec_decode_num_accepted_tokens_total\\{[^}]*} (\\S+)$")
                .matcher(metrics);
        assertThat(m.find()).as(metrics).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isGreaterThan(0);
    }
}
