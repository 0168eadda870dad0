package io.quire.cli;

import io.quire.cli.bench.BenchOptions;
import io.quire.cli.bench.BenchRequest;
import io.quire.cli.bench.WordCountTokenCounter;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ServeBenchTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return ServeBench.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void helpPrintsTheOptions() {
        assertThat(run("bench", "serve", "--help")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("--request-rate").contains("--max-concurrency");
    }

    @Test
    void badOptionsExitWithTwoAndSayWhy() {
        assertThat(run("bench", "serve", "--num-prompts", "-1")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--num-prompts must be >= 1");
    }

    @Test
    void anUnreachableServerExitsWithOne() {
        assertThat(run("--base-url", "http://127.0.0.1:1", "--num-prompts", "1")).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("is the server running?");
    }

    @Test
    void requestsShareThePrefixAndHaveTheDrawnLengths() {
        BenchOptions o = BenchOptions.parse(new String[] {"--num-prompts", "20", "--random-input-len", "10",
                "--random-output-len", "6", "--random-range-ratio", "0.5", "--prefix-len", "7", "--seed", "5"});
        List<BenchRequest> requests = ServeBench.buildRequests(o, new WordCountTokenCounter(), o.lengths());
        assertThat(requests).hasSize(20);
        String prefix = String.join(" ", List.of(requests.get(0).prompt().split(" ")).subList(0, 7));
        for (int i = 0; i < 20; i++) {
            BenchRequest r = requests.get(i);
            assertThat(r.index()).isEqualTo(i);
            assertThat(r.prompt()).startsWith(prefix + " ");
            int words = r.prompt().split(" ").length;
            assertThat(r.promptTokens()).isEqualTo(words).isBetween(7 + 5, 7 + 15);
            assertThat(r.outputTokens()).isBetween(3, 9);
        }
        assertThat(requests.stream().map(BenchRequest::promptTokens).distinct().count()).as("lengths vary")
                .isGreaterThan(1);
        assertThat(ServeBench.buildRequests(o, new WordCountTokenCounter(), o.lengths())).isEqualTo(requests);
    }
}
