package io.quire.model.tokenizer;

import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model folder's chat template: {@code chat_template.jinja} (newer transformers save it there),
 * else {@code tokenizer_config.json}'s {@code chat_template}, a string or a list of named templates
 * of which the one named {@code default} is used.
 */
final class HfChatTemplate {
    static final String JINJA_FILE = "chat_template.jinja";

    private HfChatTemplate() {}

    static String read(Path dir, JsonNode tokenizerConfig) throws IOException {
        Path jinja = dir.resolve(JINJA_FILE);
        if (Files.isRegularFile(jinja)) return Files.readString(jinja);
        JsonNode t = tokenizerConfig.path("chat_template");
        if (t.isString()) return t.asString();
        if (t.isArray()) {
            for (JsonNode named : t) {
                if (named.path("name").asString("").equals("default")) return named.path("template").asString(null);
            }
        }
        return null;
    }
}
