package io.quire.cli;

import io.quire.SharedFiles;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bench prefill} on stories260K: a row per prompt length with consistent times, and clear refusals. */
class PrefillBenchTest extends CapturedStdStreams {
    @Test
    void timesEachPromptLength() {
        int rc = Cli.run(new String[] {"bench", "prefill", "--model", SharedFiles.stories260K().toString(), "--prompt",
                "16,40", "--threads", "1", "--repeats", "3", "--warmup-seconds", "0"});
        assertThat(rc).as(err.toString(StandardCharsets.UTF_8)).isZero();
        String text = out.toString(StandardCharsets.UTF_8);
        for (int prompt : new int[] {16, 40}) {
            Matcher m = Pattern.compile("stories260K\\.gguf +float32 +1 +" + prompt + " +([0-9.]+) +([0-9.]+) +([0-9.]+) +([0-9.]+)$", Pattern.MULTILINE)
                    .matcher(text);
            assertThat(m.find()).as(text).isTrue();
            double median = Double.parseDouble(m.group(1)), best = Double.parseDouble(m.group(2));
            double tokensPerSecond = Double.parseDouble(m.group(3));
            assertThat(best).isPositive().isLessThanOrEqualTo(median);
            assertThat(Double.parseDouble(m.group(4))).as("KiB a timed pass allocated").isPositive();
            // tok/s comes from the unrounded median; the printed one is within 0.05 ms of it
            assertThat(tokensPerSecond).isBetween(1000.0 * prompt / (median + 0.05) - 0.05,
                    1000.0 * prompt / Math.max(median - 0.05, 1e-9) + 0.05);
        }
    }

    @Test
    void refusesWhatItCannotMeasure() {
        String model = SharedFiles.stories260K().toString();
        assertThat(Cli.run(new String[] {"bench", "prefill", "--model", model, "--repeats", "0"})).isNotZero();
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--repeats must be at least 1");
        assertThat(Cli.run(new String[] {"bench", "prefill", "--model", model, "--prompt", "100000"})).isNotZero();
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("longer than the model's context");
        assertThat(Cli.run(new String[] {"bench", "prefill", "--model", model, "--warmup-seconds", "-1"})).isNotZero();
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--warmup-seconds must be at least 0");
    }
}
