package io.quire.cli.bench;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class BenchmarkReportTest {

    // Two successes and a failure over 2 s.
    // A: 10 prompt, 5 output, ttft 100 ms, e2e 500 ms -> tpot (500-100)/4 = 100 ms, itl 100 x4
    // B: 20 prompt, 3 output, ttft 300 ms, e2e 400 ms -> tpot 50 ms, itl 40, 60
    private static final RunResult RUN = new RunResult(List.of(
            new RequestResult(0, true, null, 10, 5, true, 1, 0.1, 0.5, new double[] {0.1, 0.1, 0.1, 0.1}, 0.0),
            new RequestResult(1, true, null, 20, 3, true, 1, 0.3, 0.4, new double[] {0.04, 0.06}, 0.25),
            RequestResult.failure(2, "HTTP 503: busy", 0.01, 0.5)), 2.0, 2);

    private final BenchmarkReport report = BenchmarkReport.of(RUN, List.of(50.0, 99.0));

    @Test
    void throughputCountsSuccessfulRequestsOverTheWholeRun() {
        assertThat(report.completed()).isEqualTo(2);
        assertThat(report.failed()).isEqualTo(1);
        assertThat(report.totalInputTokens()).isEqualTo(30);
        assertThat(report.totalOutputTokens()).isEqualTo(8);
        assertThat(report.outputFromUsage()).isTrue();
        assertThat(report.requestThroughput()).isCloseTo(1.0, within(1e-12));
        assertThat(report.outputThroughput()).isCloseTo(4.0, within(1e-12));
        assertThat(report.totalTokenThroughput()).isCloseTo(19.0, within(1e-12));
    }

    @Test
    void latencyStatisticsAreInMilliseconds() {
        Summary ttft = report.latencies().get("ttft");
        assertThat(ttft.mean()).isCloseTo(200, within(1e-9));
        assertThat(ttft.std()).isCloseTo(100, within(1e-9));
        Summary tpot = report.latencies().get("tpot");
        assertThat(tpot.mean()).isCloseTo(75, within(1e-9));
        assertThat(tpot.percentile(99)).isCloseTo(50 + 0.99 * 50, within(1e-9));
        Summary itl = report.latencies().get("itl");
        assertThat(itl.count()).isEqualTo(6);
        assertThat(itl.mean()).isCloseTo(500.0 / 6, within(1e-9));
        assertThat(itl.median()).isCloseTo(100, within(1e-9));
        Summary e2el = report.latencies().get("e2el");
        assertThat(e2el.median()).isCloseTo(450, within(1e-9));
    }

    @Test
    void tableIsAlignedLikeVllms() {
        String table = report.table();
        assertThat(table).startsWith("============ Serving Benchmark Result ============\n");
        assertThat(table).contains("Successful requests:                     2\n");
        assertThat(table).contains("Failed requests:                         1\n");
        assertThat(table).contains("Benchmark duration (s):                  2.00\n");
        assertThat(table).contains("Output token throughput (tok/s):         4.00\n");
        assertThat(table).contains("-----Time per Output Token (excl. 1st token)------\n");
        assertThat(table).contains("Mean TPOT (ms):                          75.00\n");
        assertThat(table).contains("P99 ITL (ms):                            100.00\n");
        assertThat(table).contains("----------------End-to-end Latency----------------\n");
        for (String line : table.split("\n")) {
            if (line.startsWith("=") || line.startsWith("-")) assertThat(line).hasSize(50);
            else assertThat(line.charAt(40)).isEqualTo(' ');
        }
    }

    @Test
    void jsonUsesVllmsKeysAndKeepsPerRequestData() {
        JsonMapper json = JsonMapper.builder().build();
        JsonNode o = json.readTree(report.json(json, Map.of("model_id", "m")).toString());
        assertThat(o.path("model_id").asString()).isEqualTo("m");
        assertThat(o.path("completed").asInt()).isEqualTo(2);
        assertThat(o.path("failed").asInt()).isEqualTo(1);
        assertThat(o.path("total_output_tokens").asInt()).isEqualTo(8);
        assertThat(o.path("mean_tpot_ms").asDouble()).isCloseTo(75, within(1e-9));
        assertThat(o.path("p99_ttft_ms").isNumber()).isTrue();
        assertThat(o.path("p50_e2el_ms").asDouble()).isCloseTo(450, within(1e-9));
        assertThat(o.path("output_lens").size()).isEqualTo(3);
        assertThat(o.path("itls").path(1).size()).isEqualTo(2);
        assertThat(o.path("errors").path(2).asString()).isEqualTo("HTTP 503: busy");
        assertThat(o.path("errors").path(0).asString()).isEmpty();
    }

    @Test
    void percentileNamesFollowVllm() {
        assertThat(BenchmarkReport.percentileWord(99)).isEqualTo("99");
        assertThat(BenchmarkReport.percentileWord(99.9)).isEqualTo("99.9");
    }

    @Test
    void errorsAreGroupedMostFrequentFirst() {
        RunResult run = new RunResult(List.of(RequestResult.failure(0, "a", 0, 0), RequestResult.failure(1, "b", 0, 0),
                RequestResult.failure(2, "b", 0, 0)), 1, 1);
        assertThat(BenchmarkReport.of(run, List.of(99.0)).errorCounts())
                .containsExactly(Map.entry("b", 2), Map.entry("a", 1));
    }
}
