package io.quire.cli.bench;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Hand-made timelines: times are in milliseconds after the request was sent (at t = 1000 ms). */
class ResponseReaderTest {
    private static final long MS = 1_000_000L;
    private static final long SENT = 1000 * MS;
    private static final String SSE = "text/event-stream; charset=UTF-8";

    private final ResponseReader reader = new ResponseReader(JsonMapper.builder().build());
    private final BenchRequest request = new BenchRequest(3, "hello", 12, 4);

    /** Builds a body: each (ms, data) pair becomes a data line at that time and a blank line. */
    private static List<TimedLine> stream(Object... msAndData) {
        List<TimedLine> lines = new ArrayList<>();
        for (int i = 0; i < msAndData.length; i += 2) {
            long t = SENT + ((Number) msAndData[i]).longValue() * MS;
            lines.add(new TimedLine("data: " + msAndData[i + 1], t));
            lines.add(new TimedLine("", t));
        }
        return lines;
    }

    private static String text(int index, String text) {
        return "{\"id\":\"c\",\"object\":\"text_completion\",\"choices\":[{\"index\":" + index
                + ",\"text\":\"" + text + "\",\"finish_reason\":null}]}";
    }

    private static String usage(int prompt, int completion) {
        return "{\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":" + prompt + ",\"completion_tokens\":"
                + completion + ",\"total_tokens\":" + (prompt + completion) + "}}";
    }

    private RequestResult read(List<TimedLine> lines, long endMs) {
        return reader.read(request, 200, SSE, lines, SENT, SENT + endMs * MS, 0.5);
    }

    @Test
    void timesEveryTokenOfACompletionStream() {
        RequestResult r = read(stream(
                50, text(0, "Once"),
                60, text(0, " upon"),
                75, text(0, " a"),
                80, text(0, " time"),
                81, usage(9, 4),
                82, "[DONE]"), 83);
        assertThat(r.success()).isTrue();
        assertThat(r.index()).isEqualTo(3);
        assertThat(r.ttft()).isCloseTo(0.050, within(1e-12));
        // end-to-end stops at the last text chunk, not at usage or [DONE]
        assertThat(r.e2e()).isCloseTo(0.080, within(1e-12));
        assertThat(r.itl()).containsExactly(new double[] {0.010, 0.015, 0.005}, within(1e-12));
        assertThat(r.outputTokens()).isEqualTo(4);
        assertThat(r.promptTokens()).isEqualTo(9);
        assertThat(r.usageReported()).isTrue();
        // TPOT = (80 - 50) ms / (4 - 1) = 10 ms
        assertThat(r.tpot()).isCloseTo(0.010, within(1e-12));
        assertThat(r.sentAt()).isEqualTo(0.5);
    }

    @Test
    void usageWinsOverChunkCountsWhenAChunkHoldsSeveralTokens() {
        RequestResult r = read(stream(10, text(0, "ab"), 30, text(0, "cd"), 31, usage(5, 6), 32, "[DONE]"), 40);
        assertThat(r.outputTokens()).isEqualTo(6);
        // (30 - 10) / (6 - 1) = 4 ms
        assertThat(r.tpot()).isCloseTo(0.004, within(1e-12));
        assertThat(r.itl()).containsExactly(new double[] {0.020}, within(1e-12));
    }

    @Test
    void countsChunksWhenTheServerSendsNoUsage() {
        RequestResult r = read(stream(10, text(0, "a"), 20, text(0, ""), 30, text(0, "b"), 45, text(0, "c"),
                50, "[DONE]"), 50);
        assertThat(r.usageReported()).isFalse();
        assertThat(r.outputTokens()).isEqualTo(3);
        assertThat(r.promptTokens()).isEqualTo(12);
        // the empty chunk is no token: gaps 10->30, 30->45
        assertThat(r.itl()).containsExactly(new double[] {0.020, 0.015}, within(1e-12));
        assertThat(r.tpot()).isCloseTo(0.0175, within(1e-12));
    }

    @Test
    void readsChatDeltas() {
        String role = "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}";
        String tok = "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}";
        String think = "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hmm\"}}]}";
        RequestResult r = read(stream(5, role, 20, think, 30, tok, 40, tok, 41, usage(7, 3), 42, "[DONE]"), 42);
        assertThat(r.ttft()).isCloseTo(0.020, within(1e-12));
        assertThat(r.itl()).containsExactly(new double[] {0.010, 0.010}, within(1e-12));
        assertThat(r.outputTokens()).isEqualTo(3);
    }

    @Test
    void parallelSamplesAreTimedEachOnItsOwn() {
        // n = 2, interleaved: sample 0 at 10, 20, 30; sample 1 at 12, 26, 40
        RequestResult r = read(stream(10, text(0, "a"), 12, text(1, "x"), 20, text(0, "b"), 26, text(1, "y"),
                30, text(0, "c"), 40, text(1, "z"), 41, usage(4, 6), 42, "[DONE]"), 42);
        assertThat(r.samples()).isEqualTo(2);
        assertThat(r.ttft()).isCloseTo(0.010, within(1e-12));
        assertThat(r.e2e()).isCloseTo(0.040, within(1e-12));
        assertThat(r.itl()).containsExactly(new double[] {0.010, 0.014, 0.010, 0.014}, within(1e-12));
        assertThat(r.outputTokens()).isEqualTo(6);
        // 3 tokens per sample: (40 - 10) / (3 - 1) = 15 ms
        assertThat(r.tpot()).isCloseTo(0.015, within(1e-12));
    }

    @Test
    void singleTokenRequestsHaveNoTpot() {
        RequestResult r = read(stream(10, text(0, "a"), 11, usage(4, 1), 12, "[DONE]"), 12);
        assertThat(r.success()).isTrue();
        assertThat(r.tpot()).isNaN();
        assertThat(r.itl()).isEmpty();
    }

    @Test
    void inStreamErrorsFailTheRequest() {
        RequestResult r = read(stream(10, text(0, "a"),
                20, "{\"error\":{\"message\":\"out of KV blocks\",\"type\":\"server_error\",\"code\":500}}",
                21, "[DONE]"), 21);
        assertThat(r.success()).isFalse();
        assertThat(r.error()).contains("out of KV blocks");
    }

    @Test
    void aStreamCutShortFails() {
        RequestResult r = read(stream(10, text(0, "a"), 20, text(0, "b")), 25);
        assertThat(r.success()).isFalse();
        assertThat(r.error()).contains("[DONE]");
    }

    @Test
    void httpErrorsKeepTheServersMessage() {
        List<TimedLine> body = List.of(new TimedLine("{\"error\":{\"message\":\"model 'x' not found\"}}", SENT));
        RequestResult r = reader.read(request, 404, "application/json", body, SENT, SENT + 5 * MS, 0);
        assertThat(r.success()).isFalse();
        assertThat(r.error()).startsWith("HTTP 404").contains("model 'x' not found");
        assertThat(r.e2e()).isCloseTo(0.005, within(1e-12));
    }

    @Test
    void garbageInTheStreamFailsWithAClearMessage() {
        RequestResult r = read(stream(10, "{not json", 11, "[DONE]"), 12);
        assertThat(r.success()).isFalse();
        assertThat(r.error()).startsWith("unparseable response");
    }

    @Test
    void aWholeJsonAnswerCountsAsOneLateChunk() {
        String body = "{\"choices\":[{\"index\":0,\"text\":\"a b\"},{\"index\":1,\"text\":\"c d\"}],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":8,\"total_tokens\":13}}";
        RequestResult r = reader.read(request, 200, "application/json", List.of(new TimedLine(body, SENT + 90 * MS)),
                SENT, SENT + 100 * MS, 0);
        assertThat(r.success()).isTrue();
        assertThat(r.ttft()).isCloseTo(0.100, within(1e-12));
        assertThat(r.e2e()).isCloseTo(0.100, within(1e-12));
        assertThat(r.outputTokens()).isEqualTo(8);
        assertThat(r.samples()).isEqualTo(2);
        assertThat(r.itl()).isEmpty();
    }

    @Test
    void sniffsSseWhenTheContentTypeIsMissing() {
        RequestResult r = reader.read(request, 200, null, stream(10, text(0, "a"), 11, "[DONE]"), SENT, SENT + 12 * MS,
                0);
        assertThat(r.success()).isTrue();
        assertThat(r.outputTokens()).isEqualTo(1);
    }
}
