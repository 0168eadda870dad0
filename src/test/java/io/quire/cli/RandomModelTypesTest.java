package io.quire.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** docs/models.md's loop: a random model file of every supported weight type loads and generates. */
class RandomModelTypesTest extends CapturedStdStreams {
    @Test
    void everySupportedTypeWritesAndGenerates(@TempDir Path dir) {
        for (String type : new String[] {"F32", "F16", "BF16", "Q8_0", "Q4_0"}) {
            String file = dir.resolve("random-" + type + ".gguf").toString();
            assertThat(Cli.run(new String[] {"random-model", "--out", file, "--type", type})).as(type).isZero();
            out.reset();
            String[] generate = {"generate", "--model", file, "--prompt", "Once upon a time", "--max-tokens", "8"};
            assertThat(Cli.run(generate)).as(type + ": " + err).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8)).as(type).endsWith("\n").hasSizeGreaterThan(1);
        }
    }
}
