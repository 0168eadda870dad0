package io.quire.model.tokenizer;

import io.quire.model.gguf.GgufFile;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Encoding a 4 KB English-like text with each shared vocabulary. Run:
 * {@code java -cp target/classes:target/test-classes:$(cat /tmp/cp.txt) io.quire.model.tokenizer.TokenizerBenchmark}
 * (classpath from {@code ./mvnw -o dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TokenizerBenchmark {
    @Param({"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-gpt-2.gguf"})
    public String vocab;

    private Tokenizer tokenizer;
    private String text;

    @Setup
    public void setup() throws Exception {
        String shared = System.getProperty("quire.shared", "../shared");
        try (GgufFile f = GgufFile.open(Path.of(shared).resolve(vocab))) {
            tokenizer = Tokenizers.fromGguf(f.metadata());
        }
        String[] words = {"the", "little", "girl", "named", "Lily", "loved", "to", "play", "outside", "in", "park.",
                "One", "day,", "she", "saw", "a", "big", "tree", "with", "3", "birds!", "\n", "naïve", "café"};
        Random random = new Random(1);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 4096) sb.append(words[random.nextInt(words.length)]).append(' ');
        text = sb.substring(0, 4096);
    }

    @Benchmark
    public int[] encode4k() {
        return tokenizer.encode(text, true, false);
    }

    public static void main(String[] args) throws Exception {
        new Runner(new OptionsBuilder().include(TokenizerBenchmark.class.getSimpleName()).build()).run();
    }
}
