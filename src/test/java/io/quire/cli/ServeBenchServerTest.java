package io.quire.cli;

import io.quire.KvLeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bench serve} against the real Quire server (default dummy random-weight model) over HTTP. */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=32MB", "quire.max-model-len=256"})
class ServeBenchServerTest {
    @LocalServerPort
    int port;

    @TempDir
    Path dir;

    private final JsonMapper json = JsonMapper.builder().build();

    private record Run(int status, String table, String log, JsonNode result) {}

    private Run bench(String... extra) {
        Path out = dir.resolve("result.json");
        String[] base = {"bench", "serve", "--base-url", "http://127.0.0.1:" + port, "--result-json", out.toString(),
                "--request-timeout", "120", "--timeout", "300"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        int status = ServeBench.run(args, new PrintStream(stdout, true, StandardCharsets.UTF_8),
                new PrintStream(stderr, true, StandardCharsets.UTF_8));
        String log = stderr.toString(StandardCharsets.UTF_8);
        JsonNode result = out.toFile().exists() ? json.readTree(out.toFile()) : null;
        return new Run(status, stdout.toString(StandardCharsets.UTF_8), log, result);
    }

    @Test
    void fixedConcurrencyRunSucceedsWithExactTokenCounts() {
        Run run = bench("--num-prompts", "8", "--dataset-name", "fixed", "--random-input-len", "32",
                "--random-output-len", "16", "--max-concurrency", "4");
        assertThat(run.status()).as(run.log()).isZero();
        JsonNode r = run.result();
        assertThat(r.path("model_id").asString()).isEqualTo("quire-dummy");
        assertThat(r.path("token_counter").asString()).startsWith("server tokenizer");
        assertThat(r.path("completed").asInt()).isEqualTo(8);
        assertThat(r.path("failed").asInt()).isZero();
        assertThat(r.path("output_tokens_from_usage").asBoolean()).isTrue();
        // /tokenize made every prompt exactly 32 tokens (BOS included) and ignore_eos gave 16 tokens each
        assertThat(r.path("total_input_tokens").asInt()).isEqualTo(8 * 32);
        assertThat(r.path("total_output_tokens").asInt()).isEqualTo(8 * 16);
        for (JsonNode len : r.path("input_lens")) assertThat(len.asInt()).isEqualTo(32);
        for (JsonNode len : r.path("output_lens")) assertThat(len.asInt()).isEqualTo(16);
        assertThat(r.path("max_concurrent_requests").asInt()).isBetween(1, 4);
        for (int i = 0; i < 8; i++) {
            double ttft = r.path("ttfts").path(i).asDouble();
            double e2e = r.path("e2els").path(i).asDouble();
            assertThat(ttft).isPositive().isLessThanOrEqualTo(e2e);
            // one gap between each two streamed chunks: at most 15 for 16 tokens
            assertThat(r.path("itls").path(i).size()).isBetween(1, 15);
        }
        assertThat(r.path("mean_tpot_ms").asDouble()).isPositive();
        assertThat(r.path("p99_e2el_ms").asDouble()).isGreaterThanOrEqualTo(r.path("median_e2el_ms").asDouble());
        assertThat(run.table()).contains("Successful requests:                     8\n")
                .contains("Total input tokens:                      256\n")
                .contains("Total generated tokens:                  128\n");
    }

    @Test
    void poissonChatRunWithASharedPrefix() {
        Run run = bench("--endpoint", "/v1/chat/completions", "--num-prompts", "6", "--random-input-len", "16",
                "--random-output-len", "4", "--random-range-ratio", "0.5", "--prefix-len", "48",
                "--request-rate", "50", "--seed", "3", "--skip-test-request");
        assertThat(run.status()).as(run.log()).isZero();
        JsonNode r = run.result();
        assertThat(r.path("completed").asInt()).isEqualTo(6);
        double previous = -1;
        for (JsonNode at : r.path("sent_at")) {
            assertThat(at.asDouble()).isGreaterThanOrEqualTo(previous);
            previous = at.asDouble();
        }
        for (JsonNode len : r.path("output_lens")) assertThat(len.asInt()).isBetween(2, 6);
        // the chat template adds its own tokens to the 48-token prefix and the 8..24-token body
        for (JsonNode len : r.path("input_lens")) assertThat(len.asInt()).isGreaterThanOrEqualTo(48 + 8);
    }

    @Test
    void aWrongModelNameStopsAtTheTestRequest() {
        Run run = bench("--model", "no-such-model", "--num-prompts", "2", "--random-input-len", "8",
                "--random-output-len", "2");
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.log()).contains("Initial test run failed").contains("HTTP 404");
        assertThat(run.result()).isNull();
    }
}
