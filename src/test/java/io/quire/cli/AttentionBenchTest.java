package io.quire.cli;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bench attention} on a small shape: a row per cache type and block size whose GB/s follows from its time. */
class AttentionBenchTest extends CapturedStdStreams {
    @Test
    void timesEachCacheTypeAndBlockSize() {
        // large enough (8 MB of K and V per layer in F16) that a pass takes far longer than the printed rounding
        int seqs = 8, context = 2048, kvHeads = 2, headDim = 64;
        int rc = Cli.run(new String[] {"bench", "attention", "--seqs", "" + seqs, "--context", "" + context,
                "--heads", "4", "--kv-heads", "" + kvHeads, "--head-dim", "" + headDim, "--block-size", "4,16",
                "--threads", "1", "--repeats", "3", "--kv-cache-dtype", "float32,float16,fp8"});
        assertThat(rc).as(err.toString(StandardCharsets.UTF_8)).isZero();
        String text = out.toString(StandardCharsets.UTF_8);
        for (String kv : new String[] {"float32", "float16", "fp8_e4m3"}) {
            for (int bs : new int[] {4, 16}) {
                Matcher m = Pattern.compile(kv + " +" + bs + " +1 +([0-9.]+) +([0-9.]+)").matcher(text);
                assertThat(m.find()).as(text).isTrue();
                double ms = Double.parseDouble(m.group(1)), gbs = Double.parseDouble(m.group(2));
                double bytes = 2.0 * seqs * context * kvHeads * headDim * (kv.equals("float16") ? 2 : kv.equals("fp8_e4m3") ? 1 : 4);
                assertThat(ms).isPositive();
                // GB/s comes from the unrounded time; the printed one is within 0.0005 ms of it
                assertThat(gbs).isBetween(bytes / (ms + 0.0005) / 1e6 - 0.05, bytes / Math.max(ms - 0.0005, 1e-9) / 1e6 + 0.05);
            }
        }
    }

    @Test
    void refusesShapesItCannotRun() {
        assertThat(Cli.run(new String[] {"bench", "attention", "--heads", "5", "--kv-heads", "2"})).isNotZero();
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--heads a multiple of --kv-heads");
        assertThat(Cli.run(new String[] {"bench", "attention", "--kv-cache-dtype", "bfloat16"})).isNotZero();
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("--kv-cache-dtype takes float32, float16, fp8 (fp8_e4m3) and fp8_e5m2, not bfloat16");
    }
}
