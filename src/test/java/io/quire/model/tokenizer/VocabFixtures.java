package io.quire.model.tokenizer;

import io.quire.SharedFiles;
import io.quire.model.gguf.GgufFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Loads the shared vocabulary files and their llama.cpp test vectors (once per JVM). */
final class VocabFixtures {
    private static final Map<String, Tokenizer> CACHE = new ConcurrentHashMap<>();

    private VocabFixtures() {}

    /** One test string and the reference ids (without BOS). */
    record Case(int index, String text, int[] expected) {
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("#").append(index).append(" \"");
            for (int i = 0; i < text.length(); ) {
                int cp = text.codePointAt(i);
                i += Character.charCount(cp);
                switch (cp) {
                    case '\n' -> sb.append("\\n");
                    case '\t' -> sb.append("\\t");
                    case '\r' -> sb.append("\\r");
                    default -> sb.appendCodePoint(cp);
                }
            }
            return sb.append('"').toString();
        }
    }

    /** The tokenizer of {@code vocab/NAME} (skips the test when the file is absent). */
    static Tokenizer tokenizer(String relative) {
        Path p = SharedFiles.require(relative);
        return CACHE.computeIfAbsent(relative, r -> {
            try (GgufFile f = GgufFile.open(p)) {
                return Tokenizers.fromGguf(f.metadata());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    static Tokenizer llamaSpm() { return tokenizer("vocab/ggml-vocab-llama-spm.gguf"); }

    static Tokenizer gpt2() { return tokenizer("vocab/ggml-vocab-gpt-2.gguf"); }

    static Tokenizer stories260K() {
        SharedFiles.stories260K();
        return tokenizer("models/stories260K.gguf");
    }

    /** The cases of {@code vocab/NAME.inp} / {@code .out}, following the vocab README. */
    static List<Case> cases(String relative) {
        Path inp = SharedFiles.require(relative + ".inp");
        Path outFile = SharedFiles.require(relative + ".out");
        try {
            String all = Files.readString(inp, StandardCharsets.UTF_8);
            String[] chunks = all.split("__ggml_vocab_test__\n", -1);
            List<String> lines = Files.readAllLines(outFile, StandardCharsets.UTF_8);
            // The file ends with a separator line, so the last chunk is empty.
            if (!chunks[chunks.length - 1].isEmpty()) throw new IllegalStateException(inp
                    + " does not end with a separator");
            int count = chunks.length - 1;
            if (count != lines.size()) throw new IllegalStateException(count + " strings but " + lines.size()
                    + " id lines");
            List<Case> cases = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String c = chunks[i];
                if (!c.endsWith("\n")) throw new IllegalStateException("case " + i + " does not end with a newline");
                String text = c.substring(0, c.length() - 1);
                String line = lines.get(i).trim();
                int[] ids = line.isEmpty() ? new int[0]
                        : Arrays.stream(line.split("\\s+")).mapToInt(Integer::parseInt).toArray();
                cases.add(new Case(i, text, ids));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
