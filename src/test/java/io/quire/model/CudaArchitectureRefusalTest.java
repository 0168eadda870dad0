package io.quire.model;

import io.quire.backend.TensorType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The GPU path runs plain llama and qwen2 only: every newer architecture is refused in one line
 * naming it (which {@code quire.device=auto} turns into running on the CPU, and
 * {@code quire.device=cuda} into a startup failure), checked without a GPU on the reference fixtures.
 */
class CudaArchitectureRefusalTest {
    @TempDir Path tmp;

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {"qwen3|'qwen3'", "qwen3moe|'qwen3moe' with experts",
            "mistral|'llama' with a sliding window", "mixtral|'llama' with experts", "phi3|'phi3'",
            "gemma2|'gemma2' with a sliding window", "gemma3|'gemma3' with a sliding window"})
    void newerArchitecturesAreRefusedInOneLine(String fixture, String named) throws Exception {
        Path file = Path.of(getClass().getResource("/archs/" + fixture + ".gguf").toURI());
        String why = ModelLoader.cudaRefusal(file);
        assertThat(why).isEqualTo("the CUDA backend cannot run architecture " + named
                + " (supported on the GPU: llama and qwen2 without sliding windows or experts)");
        try (var f = io.quire.model.gguf.GgufFile.open(file)) {
            ModelConfig c = ModelLoader.readConfig(f);
            assertThatThrownBy(() -> CudaLlamaModel.refuseUnsupported(c)).isInstanceOf(ModelLoadException.class)
                    .hasMessage(why + "; run it on the CPU with quire.device=cpu");
        }
    }

    @Test
    void plainLlamaAndQwen2AreAccepted() throws Exception {
        for (boolean qwen : new boolean[] {false, true}) {
            ModelConfig c = new ModelConfig(qwen ? "qwen2" : "llama", 64, 1, 4, 2, 16, 96, 320, 64, 1e-5f, 10000f, 1f,
                    qwen, qwen);
            Path p = tmp.resolve(c.architecture() + ".gguf");
            RandomModels.write(c, TensorType.F32, 1, p);
            assertThat(ModelLoader.cudaRefusal(p)).isNull();
        }
    }
}
