package io.quire.cli.bench;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.http.HttpClient;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestSenderTest {
    private final JsonMapper json = JsonMapper.builder().build();
    private final BenchRequest request = new BenchRequest(0, "the cat", 3, 16);

    private JsonNode body(String... args) {
        try (HttpClient http = HttpClient.newHttpClient();
                ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor()) {
            return new RequestSender(http, json, "m", BenchOptions.parse(args), timers).body(request);
        }
    }

    @Test
    void completionRequestsStreamWithUsage() {
        JsonNode b = body();
        assertThat(b.path("model").asString()).isEqualTo("m");
        assertThat(b.path("prompt").asString()).isEqualTo("the cat");
        assertThat(b.path("max_tokens").asInt()).isEqualTo(16);
        assertThat(b.path("stream").asBoolean()).isTrue();
        assertThat(b.path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(b.path("ignore_eos").asBoolean()).isTrue();
        assertThat(b.path("temperature").asDouble()).isZero();
        assertThat(b.has("n")).isFalse();
        assertThat(b.has("use_beam_search")).isFalse();
        assertThat(b.has("messages")).isFalse();
    }

    @Test
    void chatRequestsSendThePromptAsAUserMessage() {
        JsonNode b = body("--endpoint", "/v1/chat/completions");
        assertThat(b.has("prompt")).isFalse();
        assertThat(b.path("messages").path(0).path("role").asString()).isEqualTo("user");
        assertThat(b.path("messages").path(0).path("content").asString()).isEqualTo("the cat");
        assertThat(b.path("max_completion_tokens").asInt()).isEqualTo(16);
    }

    @Test
    void parallelSamplingAndBeamSearchUseVllmsExtraFields() {
        JsonNode b = body("--n", "4", "--use-beam-search", "--best-of", "6", "--no-ignore-eos", "--temperature", "0.8");
        assertThat(b.path("n").asInt()).isEqualTo(4);
        assertThat(b.path("best_of").asInt()).isEqualTo(6);
        assertThat(b.path("use_beam_search").asBoolean()).isTrue();
        assertThat(b.path("ignore_eos").asBoolean()).isFalse();
        assertThat(b.path("temperature").asDouble()).isEqualTo(0.8);
    }

    @Test
    void extraBodyIsMergedLast() {
        JsonNode b = body("--extra-body", "{\"top_k\": 5, \"max_tokens\": 3}");
        assertThat(b.path("top_k").asInt()).isEqualTo(5);
        assertThat(b.path("max_tokens").asInt()).isEqualTo(3);
        assertThatThrownBy(() -> body("--extra-body", "[1]")).hasMessageContaining("JSON object");
        assertThatThrownBy(() -> body("--extra-body", "{top_k")).hasMessageContaining("not valid JSON");
    }
}
