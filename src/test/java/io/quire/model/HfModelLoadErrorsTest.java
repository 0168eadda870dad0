package io.quire.model;

import io.quire.backend.TensorType;
import io.quire.model.safetensors.SafetensorsException;
import io.quire.model.safetensors.SafetensorsWriter;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A bad Hugging Face folder is refused at load with one message naming what is wrong. */
class HfModelLoadErrorsTest {
    @TempDir
    Path tmp;
    Path dir;

    /** A small random llama written as a two-shard folder, which each test then breaks. */
    @BeforeEach
    void writeFolder() throws IOException {
        Path gguf = tmp.resolve("m.gguf");
        RandomModels.write(TinyModels.CONFIG, TensorType.F32, 3, gguf);
        dir = HfCheckpoints.write(gguf, tmp.resolve("m"), TensorType.F32, 2, null);
    }

    @Test
    void theUnbrokenFolderLoads() throws IOException {
        try (LanguageModel<?> m = ModelLoader.load(dir)) {
            assertThat(m.config().vocabSize()).isEqualTo(TinyModels.CONFIG.vocabSize());
        }
    }

    @Test
    void missingConfig() throws IOException {
        Files.delete(dir.resolve("config.json"));
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("has no config.json");
    }

    @Test
    void missingWeights() throws IOException {
        Files.delete(dir.resolve("model.safetensors.index.json"));
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("has no weights: neither model.safetensors nor model.safetensors.index.json");
    }

    @Test
    void missingShard() throws IOException {
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("the shard model-00002-of-00002.safetensors named by")
                .hasMessageContaining("is missing");
    }

    @Test
    void aShardOutsideTheFolderIsRefused() throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, Files.readString(index).replace("model-00002-of-00002.safetensors",
                "../../etc/passwd"));
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("'../../etc/passwd', not a file name beside the index");
    }

    @Test
    void truncatedHeader() throws IOException {
        truncate(dir.resolve("model-00001-of-00002.safetensors"), 100);
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("model-00001-of-00002.safetensors as safetensors: its header length")
                .hasMessageContaining("truncated?");
    }

    @Test
    void truncatedData() throws IOException {
        Path shard = dir.resolve("model-00002-of-00002.safetensors");
        truncate(shard, Files.size(shard) - 4);
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("lies outside the").hasMessageContaining("truncated?");
    }

    @Test
    void unsupportedDtype() throws IOException {
        // The embedding as I8 in a single file (the index removed so model.safetensors is read).
        Files.delete(dir.resolve("model.safetensors.index.json"));
        int rows = TinyModels.CONFIG.vocabSize(), cols = TinyModels.CONFIG.dim();
        new SafetensorsWriter().add("model.embed_tokens.weight", "I8", new long[] {rows, cols}, new byte[rows * cols])
                .write(dir.resolve("model.safetensors"));
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining("tensor model.embed_tokens.weight")
                .hasMessageContaining("has dtype I8, which Quire does not load (supported: F32, F16, BF16)");
    }

    @Test
    void missingTensorIsNamedAsTransformersNamesIt() throws IOException {
        Files.delete(dir.resolve("model.safetensors.index.json"));
        int rows = TinyModels.CONFIG.vocabSize(), cols = TinyModels.CONFIG.dim();
        new SafetensorsWriter().add("model.embed_tokens.weight", "F32", new long[] {rows, cols},
                new byte[rows * cols * 4]).write(dir.resolve("model.safetensors"));
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("the model file lacks the tensor model.layers.0.self_attn.q_proj.weight");
    }

    @Test
    void unsupportedArchitecture() throws IOException {
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config)
                .replace("\"model_type\":\"llama\"", "\"model_type\":\"gemma\""));
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("unsupported model_type 'gemma'")
                .hasMessageContaining("supported: llama, mistral, mixtral, qwen2, qwen3, qwen3_moe");
    }

    @Test
    void wrongShapeNamesTheTransformersTensor() throws IOException {
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"intermediate_size\":96",
                "\"intermediate_size\":64"));
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tensor model.layers.0.mlp.gate_proj.weight has shape [64, 96],"
                        + " expected [64, 64]");
    }

    /** The GPU takes a folder of what it runs (a plain llama) and refuses one it cannot, as for GGUF. */
    @Test
    void theGpuTakesAFolderItCanRun() throws IOException {
        assertThat(ModelLoader.cudaRefusal(dir)).isNull();
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"model_type\":\"llama\"",
                "\"model_type\":\"mistral\",\"sliding_window\":8"));
        assertThat(ModelLoader.cudaRefusal(dir)).contains("with a sliding window");
    }

    private static void truncate(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }
}
