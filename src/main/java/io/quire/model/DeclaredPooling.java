package io.quire.model;

import io.quire.model.gguf.GgufFile;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How a model's files say its hidden states become one embedding, when they say it: llama.cpp's
 * {@code <arch>.pooling_type} in a GGUF file (1 mean, 2 cls, 3 last, 4 rank), or a sentence-transformers
 * folder's pooling module ({@code modules.json}, then its {@code config.json}'s {@code pooling_mode_*}
 * flags). Embedding models converted from a mean- or CLS-pooled checkpoint carry it; a generative
 * model carries none, and vLLM pools such a model by its last token.
 */
public final class DeclaredPooling {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String[] GGUF_TYPES = {"none", "mean", "cls", "last", "rank"};

    private DeclaredPooling() {}

    /** The pooling the files at {@code path} declare ("last", "mean", "cls", "rank", "max", ...), or null. */
    public static String of(Path path) throws IOException {
        if (HfModelLoader.isModelDir(path)) return ofFolder(path);
        try (GgufFile file = GgufFile.open(path)) {
            String arch = file.metadata().getString("general.architecture", "llama");
            int type = file.metadata().getInt(arch + ".pooling_type", 0);
            // 0 (none) is what a converter writes for a model with no pooling of its own
            if (type <= 0) return null;
            return type < GGUF_TYPES.length ? GGUF_TYPES[type] : "type " + type;
        }
    }

    private static String ofFolder(Path dir) throws IOException {
        Path modules = dir.resolve("modules.json");
        if (!Files.isRegularFile(modules)) return null;
        for (JsonNode m : JSON.readTree(Files.readString(modules))) {
            if (!m.path("type").asString("").endsWith("Pooling")) continue;
            // a module path from the folder's own file: resolved inside the folder, never outside it
            Path config = dir.resolve(m.path("path").asString("")).normalize().resolve("config.json");
            if (!config.startsWith(dir.normalize()) || !Files.isRegularFile(config)) return null;
            JsonNode c = JSON.readTree(Files.readString(config));
            for (var e : c.properties()) {
                String key = e.getKey();
                if (key.startsWith("pooling_mode_") && e.getValue().asBoolean(false)) {
                    String mode = key.substring("pooling_mode_".length()).toLowerCase(Locale.ROOT);
                    return switch (mode) {
                        case "lasttoken" -> "last";
                        case "mean_tokens" -> "mean";
                        case "cls_token" -> "cls";
                        case "max_tokens" -> "max";
                        default -> mode;
                    };
                }
            }
        }
        return null;
    }
}
