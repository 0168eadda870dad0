package io.quire.cli.bench;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BenchOptionsTest {

    @Test
    void defaultsFollowVllm() {
        BenchOptions o = BenchOptions.parse(new String[0]);
        assertThat(o.baseUrl()).isEqualTo("http://127.0.0.1:8000");
        assertThat(o.endpoint()).isEqualTo("/v1/completions");
        assertThat(o.tokenizeEndpoint()).isEqualTo("/tokenize");
        assertThat(o.numPrompts()).isEqualTo(1000);
        assertThat(o.requestRate()).isInfinite();
        assertThat(o.maxConcurrency()).isZero();
        assertThat(o.burstiness()).isEqualTo(1.0);
        assertThat(o.datasetName()).isEqualTo("random");
        assertThat(o.inputLen()).isEqualTo(1024);
        assertThat(o.outputLen()).isEqualTo(128);
        assertThat(o.ignoreEos()).isTrue();
        assertThat(o.temperature()).isZero();
        assertThat(o.metricPercentiles()).containsExactly(99.0);
        assertThat(o.testRequest()).isTrue();
        assertThat(o.chat()).isFalse();
    }

    @Test
    void parsesEveryOptionInBothSpellings() {
        BenchOptions o = BenchOptions.parse(new String[] {
                "--base-url", "http://localhost:9000/", "--endpoint=v1/chat/completions", "--model", "m",
                "--num-prompts", "8", "--request-rate", "2.5", "--burstiness", "0.5", "--max-concurrency=4", "--seed",
                "-3",
                "--dataset-name", "sharegpt-like", "--max-model-len", "512", "--sharegpt-output-len", "16",
                "--random-prefix-len", "256", "--n", "2", "--use-beam-search", "--best-of", "4",
                "--ignore-eos", "false", "--temperature", "0.7", "--extra-body", "{\"top_k\":5}",
                "--request-timeout", "1.5", "--timeout", "60", "--metric-percentiles", "50,90,99.9",
                "--result-json", "/tmp/r.json", "--skip-test-request", "--tokenize-endpoint", "none"});
        assertThat(o.baseUrl()).isEqualTo("http://localhost:9000");
        assertThat(o.endpoint()).isEqualTo("/v1/chat/completions");
        assertThat(o.chat()).isTrue();
        assertThat(o.tokenizeEndpoint()).isNull();
        assertThat(o.model()).isEqualTo("m");
        assertThat(o.numPrompts()).isEqualTo(8);
        assertThat(o.requestRate()).isEqualTo(2.5);
        assertThat(o.burstiness()).isEqualTo(0.5);
        assertThat(o.maxConcurrency()).isEqualTo(4);
        assertThat(o.seed()).isEqualTo(-3);
        assertThat(o.lengths()).isEqualTo(ShareGptLikeLengths.standard(512, 16));
        assertThat(o.prefixLen()).isEqualTo(256);
        assertThat(o.n()).isEqualTo(2);
        assertThat(o.useBeamSearch()).isTrue();
        assertThat(o.bestOf()).isEqualTo(4);
        assertThat(o.ignoreEos()).isFalse();
        assertThat(o.temperature()).isEqualTo(0.7);
        assertThat(o.extraBody()).isEqualTo("{\"top_k\":5}");
        assertThat(o.requestTimeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(o.globalTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(o.metricPercentiles()).isEqualTo(List.of(50.0, 90.0, 99.9));
        assertThat(o.resultJson()).isEqualTo("/tmp/r.json");
        assertThat(o.testRequest()).isFalse();
    }

    @Test
    void beamWidthSetsBothConventions() {
        BenchOptions o = BenchOptions.parse(new String[] {"--beam-width", "4"});
        assertThat(o.useBeamSearch()).isTrue();
        assertThat(o.n()).isEqualTo(4);
        assertThat(o.bestOf()).isEqualTo(4);
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--beam-width", "4", "--n", "2"}))
                .hasMessageContaining("--beam-width 4");
    }

    @Test
    void hostAndPortMakeTheBaseUrl() {
        assertThat(BenchOptions.parse(new String[] {"--host", "10.0.0.2", "--port", "8000"}).baseUrl())
                .isEqualTo("http://10.0.0.2:8000");
    }

    @Test
    void fixedAndRandomDatasets() {
        assertThat(BenchOptions.parse(new String[] {"--dataset-name", "fixed", "--input-len", "32",
                "--output-len", "8", "--random-range-ratio", "0.5"}).lengths()).isEqualTo(new UniformLengths(32, 8, 0));
        assertThat(BenchOptions.parse(new String[] {"--random-input-len", "32", "--random-output-len", "8",
                "--random-range-ratio", "0.5"}).lengths()).isEqualTo(new UniformLengths(32, 8, 0.5));
        assertThat(BenchOptions.parse(new String[] {"--no-ignore-eos"}).ignoreEos()).isFalse();
        assertThat(BenchOptions.parse(new String[] {"--ignore-eos"}).ignoreEos()).isTrue();
    }

    @Test
    void badOptionsSayWhatIsWrong() {
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--bogus"}))
                .hasMessageContaining("unknown option --bogus");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--num-prompts"}))
                .hasMessageContaining("needs a value");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--num-prompts", "x"}))
                .hasMessageContaining("integer");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--num-prompts", "0"})).hasMessageContaining(">= 1");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--request-rate", "0"}))
                .hasMessageContaining("> 0 or inf");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--dataset-name", "sonnet"}))
                .hasMessageContaining("random, fixed");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--n", "4", "--best-of", "2"}))
                .hasMessageContaining("--best-of");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--base-url", "localhost:80"}))
                .hasMessageContaining("http://");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--metric-percentiles", "100"}))
                .hasMessageContaining("between 0 and 100");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"stray"}))
                .hasMessageContaining("unexpected argument");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--burstiness", "0"}))
                .hasMessageContaining("--burstiness");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--timeout", "0"}))
                .hasMessageContaining("> 0 seconds");
        assertThatThrownBy(() -> BenchOptions.parse(new String[] {"--random-range-ratio", "1"}).lengths())
                .hasMessageContaining("range ratio");
    }
}
