package io.quire;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Locates the shared test files (real models, tokenizer vectors, chat templates) that live beside
 * the checkout in {@code ../shared}, or where {@code QUIRE_SHARED_DIR} points. Tests that need
 * them are skipped with a clear message when they are absent; CI always has them.
 */
public final class SharedFiles {
    private SharedFiles() {}

    public static Path root() {
        String env = System.getenv("QUIRE_SHARED_DIR");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of("..", "shared").toAbsolutePath().normalize();
    }

    /** {@code relative} under the shared folder; skips the calling test when it is missing. */
    public static Path require(String relative) {
        Path p = root().resolve(relative);
        assumeTrue(Files.exists(p), "skipped: shared test file " + p + " is absent (set QUIRE_SHARED_DIR)");
        return p;
    }

    public static Path stories260K() { return require("models/stories260K.gguf"); }
}
