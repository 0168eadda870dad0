package io.quire.model;

import io.quire.backend.TensorType;
import io.quire.model.gguf.GgufWriter;
import io.quire.model.gguf.GgufFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class ModelLoaderTest {
    @TempDir Path tmp;
    static final ModelConfig TINY = ModelConfig.llama(64, 1, 4, 2, 96, 320, 64);

    @Test
    void unsupportedArchitectureIsNamed() throws Exception {
        Path p = tmp.resolve("mamba.gguf");
        GgufWriter w = RandomModels.writer(TINY, TensorType.F32, 1);
        w.putString("general.architecture", "mamba");
        w.write(p);
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(ModelLoadException.class)
                .hasMessage("unsupported model architecture 'mamba' (supported: llama, qwen2, qwen3, qwen3moe, phi3, "
                        + "gemma2, gemma3)");
    }

    @Test
    void uncomputableTensorTypeIsNamed() throws Exception {
        Path p2 = tmp.resolve("k.gguf");
        ModelConfig wide = ModelConfig.llama(256, 1, 4, 2, 256, 320, 64);
        GgufWriter w = RandomModels.writer(wide, TensorType.F32, 1);
        w.addTensor("blk.0.attn_q.weight", TensorType.IQ2_XXS, new long[] {256, 256},
                MemorySegment.ofArray(new byte[256 * 66]));
        w.write(p2);
        assertThatThrownBy(() -> ModelLoader.load(p2)).isInstanceOf(ModelLoadException.class)
                .hasMessage("tensor blk.0.attn_q.weight has type IQ2_XXS, which Quire cannot compute with (supported: "
                        + "F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, BF16)");
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
        try (LanguageModel<?> m = ModelLoader.load(p)) {
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
        try (LanguageModel<?> m = ModelLoader.load(p, "d", io.quire.backend.Device.CPU, "bfloat16")) {
            // The CPU computes in FP32 whatever the GPU type: its KV blocks stay FP32.
            assertThat(m.kvCacheSpec(16).bytesPerBlock()).isEqualTo(2L * TINY.numLayers() * 16 * TINY.kvDim() * 4);
        }
    }

    /** One broken hyperparameter of TINY each; the message must name its GGUF key. */
    static Stream<Arguments> badHyperparameters() {
        String[] tokens300 = new String[300];
        java.util.Arrays.setAll(tokens300, i -> "t" + i);
        return Stream.of(
                bad("head count 0", w -> w.putUInt32("llama.attention.head_count", 0),
                        "llama.attention.head_count is 0"),
                bad("block count 0", w -> w.putUInt32("llama.block_count", 0), "llama.block_count is 0"),
                bad("context length 0", w -> w.putUInt32("llama.context_length", 0), "llama.context_length is 0"),
                bad("embedding length 0", w -> w.putUInt32("llama.embedding_length", 0),
                        "llama.embedding_length is 0"),
                bad("feed-forward length 0", w -> w.putUInt32("llama.feed_forward_length", 0),
                        "llama.feed_forward_length is 0"),
                bad("KV head count 0", w -> w.putUInt32("llama.attention.head_count_kv", 0),
                        "llama.attention.head_count_kv is 0"),
                bad("KV heads not dividing the heads", w -> w.putUInt32("llama.attention.head_count_kv", 3),
                        "llama.attention.head_count 4 is not a multiple of llama.attention.head_count_kv 3"),
                bad("embedding not divisible by the heads", w -> w.putUInt32("llama.attention.head_count", 6),
                        "llama.embedding_length 64 is not divisible by llama.attention.head_count 6"),
                bad("block count past 32 bits", w -> w.putUInt32("llama.block_count", 0xFFFF_FFFFL),
                        "llama.block_count is 4294967295, outside the 32-bit integer range"),
                bad("more layers than tensors", w -> w.putUInt32("llama.block_count", 1000),
                        "llama.block_count is 1000, more layers than the file's"),
                bad("odd key length", w -> w.putUInt32("llama.attention.key_length", 7),
                        "llama.attention.key_length is 7, odd"),
                bad("q width overflowing", w -> w.putUInt32("llama.attention.head_count", 1 << 20)
                        .putUInt32("llama.attention.key_length", 1 << 12), "llama.attention.head_count 1048576 times"),
                bad("value length unlike key length", w -> w.putUInt32("llama.attention.value_length", 8),
                        "llama.attention.value_length 8 differs from the key head size 16"),
                bad("RoPE base 0", w -> w.putFloat32("llama.rope.freq_base", 0f), "llama.rope.freq_base is 0.0"),
                bad("negative RMS epsilon", w -> w.putFloat32("llama.attention.layer_norm_rms_epsilon", -1f),
                        "llama.attention.layer_norm_rms_epsilon is -1.0"),
                bad("vocabulary unlike the embedding", w -> w.putStrings("tokenizer.ggml.tokens", tokens300),
                        "tokenizer.ggml.tokens has 300 tokens but token_embd.weight has 320 rows"));
    }

    private static Arguments bad(String what, Consumer<GgufWriter> edit, String message) {
        return arguments(what, edit, message);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badHyperparameters")
    void aBadHyperparameterIsRefusedNamingItsKey(String what, Consumer<GgufWriter> edit, String message)
            throws Exception {
        Path p = tmp.resolve("bad.gguf");
        GgufWriter w = RandomModels.writer(TINY, TensorType.F32, 1);
        edit.accept(w);
        w.write(p);
        assertThatThrownBy(() -> ModelLoader.load(p))
                .isInstanceOfAny(ModelLoadException.class, GgufFormatException.class)
                .hasMessageContaining(message);
    }
}
