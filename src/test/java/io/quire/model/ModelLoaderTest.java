package io.quire.model;

import io.quire.backend.TensorType;
import io.quire.model.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelLoaderTest {
    @TempDir Path tmp;
    static final ModelConfig TINY = ModelConfig.llama(64, 1, 4, 2, 96, 320, 64);

    @Test
    void unsupportedArchitectureIsNamed() throws Exception {
        Path p = tmp.resolve("gemma.gguf");
        GgufWriter w = RandomModels.writer(TINY, TensorType.F32, 1);
        w.putString("general.architecture", "gemma2");
        w.write(p);
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("unsupported model architecture 'gemma2'").hasMessageContaining("llama, qwen2");
    }

    @Test
    void uncomputableTensorTypeIsNamed() throws Exception {
        Path p2 = tmp.resolve("k.gguf");
        ModelConfig wide = ModelConfig.llama(256, 1, 4, 2, 256, 320, 64);
        GgufWriter w = RandomModels.writer(wide, TensorType.F32, 1);
        w.addTensor("blk.0.attn_q.weight", TensorType.Q4_K, new long[] {256, 256}, MemorySegment.ofArray(new byte[256 * 144]));
        w.write(p2);
        assertThatThrownBy(() -> ModelLoader.load(p2)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("blk.0.attn_q.weight").hasMessageContaining("Q4_K");
    }

    @Test
    void missingMetadataIsNamed() throws Exception {
        Path p = tmp.resolve("m.gguf");
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
        RandomModels.addVocabulary(w, 320);
        w.write(p);
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("llama.embedding_length");
    }

    @Test
    void randomModelRoundTripsThroughGguf() throws Exception {
        Path p = tmp.resolve("r.gguf");
        RandomModels.write(TINY, TensorType.Q8_0, 5, p);
        try (LanguageModel m = ModelLoader.load(p)) {
            assertThat(m.config()).isEqualTo(TINY);
            assertThat(m.tokenizer().vocabSize()).isEqualTo(320);
            assertThat(m.tokenizer().encode("hello there")).startsWith(1);
        }
    }

    @Test
    void anUnknownDtypeIsRefusedOnTheCpuToo() throws Exception {
        Path p = tmp.resolve("d.gguf");
        RandomModels.write(TINY, TensorType.F32, 5, p);
        assertThatThrownBy(() -> ModelLoader.load(p, "d", io.quire.backend.Device.CPU, "fp8"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown dtype 'fp8'");
        try (LanguageModel m = ModelLoader.load(p, "d", io.quire.backend.Device.CPU, "bfloat16")) {
            // The CPU computes in FP32 whatever the GPU type: its KV blocks stay FP32.
            assertThat(m.kvBytesPerBlock(16)).isEqualTo(2L * TINY.numLayers() * 16 * TINY.kvDim() * 4);
        }
    }
}
