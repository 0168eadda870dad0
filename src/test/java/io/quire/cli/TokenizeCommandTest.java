package io.quire.cli;

import io.quire.SharedFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class TokenizeCommandTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return TokenizeCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void tokenizesWithStories260K() {
        Path model = SharedFiles.stories260K();
        assertThat(run("--model", model.toString(), "--text", "Once upon a time")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("[1, 403, 407, 261, 378]" + System.lineSeparator());
        assertThat(err.size()).isZero();
    }

    @Test
    void tokenizesWithAHuggingFaceFolder(@TempDir Path dir) throws IOException {
        Path folder = io.quire.model.HfCheckpoints.write(SharedFiles.stories260K(), dir.resolve("hf"),
                io.quire.backend.TensorType.F32, 1, null);
        assertThat(run("--model", folder.toString(), "--text", "Once upon a time")).as(err.toString()).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8).strip()).isEqualTo("[1, 403, 407, 261, 378]");
    }

    @Test
    void worksOnVocabularyOnlyFiles() {
        Path spm = SharedFiles.require("vocab/ggml-vocab-llama-spm.gguf");
        // Reference ids of "Hello world" (ggml-vocab-llama-spm.gguf.out) plus BOS, which llama adds.
        assertThat(run("--model", spm.toString(), "--text", "Hello world")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8).strip()).isEqualTo("[1, 15043, 3186]");

        out.reset();
        Path gpt2 = SharedFiles.require("vocab/ggml-vocab-gpt-2.gguf");
        assertThat(run("--model=" + gpt2, "--text=Hello world")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8).strip()).isEqualTo("[15496, 995]");
    }

    @Test
    void emptyTextPrintsJustBos() {
        Path model = SharedFiles.stories260K();
        assertThat(run("--model", model.toString(), "--text", "")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8).strip()).isEqualTo("[1]");
    }

    @Test
    void badArgumentsFailWithOneLine() {
        assertThat(run()).isNotZero();
        assertThat(run("--model")).isNotZero();
        assertThat(run("--text", "x")).isNotZero();
        assertThat(run("--model", "m.gguf", "--text", "x", "--bogus", "1")).isNotZero();
        String[] lines = err.toString(StandardCharsets.UTF_8).split("\\R");
        assertThat(lines).hasSize(4).allSatisfy(l -> assertThat(l).contains("usage: tokenize"));
        assertThat(out.size()).isZero();
    }

    @Test
    void unreadableFilesFailWithOneLine(@TempDir Path dir) throws IOException {
        assertThat(run("--model", dir.resolve("missing.gguf").toString(), "--text", "x")).isEqualTo(1);
        Path junk = Files.writeString(dir.resolve("junk.gguf"), "this is not a gguf file");
        assertThat(run("--model", junk.toString(), "--text", "x")).isEqualTo(1);
        String[] lines = err.toString(StandardCharsets.UTF_8).split("\\R");
        assertThat(lines).hasSize(2);
        assertThat(lines[0]).contains("missing.gguf");
        assertThat(lines[1]).contains("GGUF");
        assertThat(out.size()).isZero();
    }

    @Test
    void cliDispatchesTokenize() {
        assertThat(Cli.isCommand("tokenize")).isTrue();
        assertThat(Cli.run(new String[] {"tokenize"})).isNotZero(); // missing options: usage on stderr, non-zero
    }
}
