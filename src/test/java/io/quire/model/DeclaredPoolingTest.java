package io.quire.model;

import io.quire.SharedFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** What a model's files say of pooling: llama.cpp's GGUF key, a sentence-transformers folder's module. */
class DeclaredPoolingTest {
    @TempDir
    Path dir;

    @Test
    void aGgufFileSaysItWithLlamaCppsKey() throws IOException {
        assertThat(DeclaredPooling.of(SharedFiles.stories260K())).isNull();
        assertThat(DeclaredPooling.of(TinyModels.stories260KWithPooling(dir.resolve("none.gguf"), 0))).isNull();
        assertThat(DeclaredPooling.of(TinyModels.stories260KWithPooling(dir.resolve("mean.gguf"), 1))).isEqualTo("mean");
        assertThat(DeclaredPooling.of(TinyModels.stories260KWithPooling(dir.resolve("cls.gguf"), 2))).isEqualTo("cls");
        assertThat(DeclaredPooling.of(TinyModels.stories260KWithPooling(dir.resolve("last.gguf"), 3))).isEqualTo("last");
        assertThat(DeclaredPooling.of(TinyModels.stories260KWithPooling(dir.resolve("odd.gguf"), 9))).isEqualTo("type 9");
    }

    @Test
    void aSentenceTransformersFolderSaysItInItsPoolingModule() throws IOException {
        Path model = Files.createDirectories(dir.resolve("model"));
        assertThat(DeclaredPooling.of(model)).isNull();
        Files.writeString(model.resolve("modules.json"), """
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                 {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]""");
        Files.createDirectories(model.resolve("1_Pooling"));
        Files.writeString(model.resolve("1_Pooling/config.json"), """
                {"word_embedding_dimension": 1024, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": false,
                 "pooling_mode_max_tokens": false, "pooling_mode_lasttoken": true}""");
        assertThat(DeclaredPooling.of(model)).isEqualTo("last");
        Files.writeString(model.resolve("1_Pooling/config.json"), """
                {"pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, "pooling_mode_lasttoken": false}""");
        assertThat(DeclaredPooling.of(model)).isEqualTo("mean");
        // a module path that leaves the folder is not followed
        Files.writeString(model.resolve("modules.json"), """
                [{"idx": 1, "name": "1", "path": "../elsewhere", "type": "sentence_transformers.models.Pooling"}]""");
        Files.createDirectories(dir.resolve("elsewhere"));
        Files.writeString(dir.resolve("elsewhere/config.json"), "{\"pooling_mode_mean_tokens\": true}");
        assertThat(DeclaredPooling.of(model)).isNull();
    }
}
