package io.quire.cli;

import io.quire.SharedFiles;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code generate} as a script would call it: only the generated text on stdout. */
class GenerateCommandTest extends CapturedStdStreams {
    @Test
    void greedyStories260KPrintsTheReferenceText() {
        String model = SharedFiles.stories260K().toString();
        int rc = Cli.run(new String[] {"generate", "--model", model, "--prompt", "Once upon a time", "--max-tokens",
                "32", "--temperature", "0"});
        assertThat(rc).as(err.toString()).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8))
                .isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, "
                + "she saw\n");
    }

    @Test
    void greedyOnAHuggingFaceFolderPrintsTheReferenceText(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        String folder = io.quire.model.HfCheckpoints.write(SharedFiles.stories260K(), tmp.resolve("hf"),
                io.quire.backend.TensorType.F32, 2, null).toString();
        int rc = Cli.run(new String[] {"generate", "--model", folder, "--prompt", "Once upon a time", "--max-tokens",
                "32", "--temperature", "0"});
        assertThat(rc).as(err.toString()).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8))
                .isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, "
                + "she saw\n");
    }

    @Test
    void seededSamplingOnTheDummyModelIsReproducible() {
        String[] args = {"generate", "--model", "dummy", "--prompt", "hello", "--max-tokens", "8", "--temperature",
                "0.8", "--seed", "7"};
        assertThat(Cli.run(args)).isZero();
        String first = out.toString(StandardCharsets.UTF_8);
        out.reset();
        assertThat(Cli.run(args)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(first);
        assertThat(first.strip()).isNotEmpty();
    }

    @Test
    void aWrittenRandomModelGeneratesLikeTheBuiltInOne(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        String file = tmp.resolve("r.gguf").toString();
        assertThat(Cli.run(new String[] {"random-model", "--out", file, "--type", "Q8_0"})).isZero();
        String[] gen = {"generate", "--model", file, "--prompt", "abc", "--max-tokens", "4"};
        assertThat(Cli.run(gen)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).endsWith("\n").hasSizeGreaterThan(1);
    }

    @Test
    void missingPromptIsAUsageError() {
        assertThat(Cli.run(new String[] {"generate", "--model", "dummy"})).isEqualTo(2);
        assertThat(err.toString()).contains("missing required option --prompt");
        assertThat(out.size()).isZero();
    }

    @Test
    void unreadableModelFailsWithItsPath() {
        assertThat(Cli.run(new String[] {"generate", "--model", "/nonexistent/m.gguf", "--prompt", "x"})).isEqualTo(1);
        assertThat(err.toString()).contains("/nonexistent/m.gguf");
    }
}
