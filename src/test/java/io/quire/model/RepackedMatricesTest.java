package io.quire.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.quire.backend.TensorType;
import io.quire.backend.cpu.Q4_0Tiles;
import io.quire.backend.cpu.Q4_KTiles;
import io.quire.backend.cpu.Q6_KTiles;
import io.quire.backend.cpu.RandomBlocks;
import io.quire.model.gguf.GgufFile;
import io.quire.model.gguf.GgufWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A Q4_K, Q4_0 or Q6_K file's matrices are repacked at load for the CPU's kernels, and the model answers as before. */
class RepackedMatricesTest {
    private static final ModelConfig CONFIG = ModelConfig.llama(256, 2, 4, 2, 512, 320, 256);
    /**
     * Logits this close, relative to the largest of their row, tie up to summation order: the two layouts'
     * logits differ by at most 3e-7 of it (20 prompts each of Q4_0, Q4_K and Q6_K, rows up to 870).
     */
    private static final float NEAR_TIE = 1e-5f;

    @TempDir
    Path dir;

    @Test
    void matricesAreRepackedAndATiedEmbeddingToo() throws Exception {
        assumeThat(Q4_KTiles.applies(256, 256)).as("32 short lanes (512-bit vectors) in use").isTrue();
        Path file = dir.resolve("q4k.gguf");
        RandomModels.write(CONFIG, TensorType.Q4_K, 3, file);
        try (GgufFile loaded = ModelLoader.withCpuLayouts(GgufFile.open(file), CONFIG)) {
            assertThat(loaded.tensor("blk.0.attn_q.weight").type()).isEqualTo(TensorType.Q4_K_R32);
            assertThat(loaded.tensor("blk.1.attn_k.weight").type()).isEqualTo(TensorType.Q4_K_R32);
            assertThat(loaded.tensor("blk.1.ffn_down.weight").type()).isEqualTo(TensorType.Q4_K_R32);
            // the LM head too (tied: the file has no output.weight), read whole every step
            assertThat(loaded.tensor("token_embd.weight").type()).isEqualTo(TensorType.Q4_K_R32);
        }
    }

    @Test
    void anEmbeddingBesideItsOwnLmHeadIsNotRepacked() throws Exception {
        assumeThat(Q4_KTiles.applies(256, 256)).as("32 short lanes (512-bit vectors) in use").isTrue();
        Path file = dir.resolve("untied.gguf");
        int vocab = CONFIG.vocabSize(), dim = CONFIG.dim();
        new GgufWriter()
                .addTensor("token_embd.weight", TensorType.Q4_K, new long[] {dim, vocab},
                        RandomBlocks.tensor("e", TensorType.Q4_K, vocab, dim, 1).data())
                .addTensor("output.weight", TensorType.Q4_K, new long[] {dim, vocab},
                        RandomBlocks.tensor("o", TensorType.Q4_K, vocab, dim, 2).data())
                .write(file);
        try (GgufFile loaded = ModelLoader.withCpuLayouts(GgufFile.open(file), CONFIG)) {
            assertThat(loaded.tensor("output.weight").type()).isEqualTo(TensorType.Q4_K_R32);
            // only read a row per token: kept as stored
            assertThat(loaded.tensor("token_embd.weight").type()).isEqualTo(TensorType.Q4_K);
        }
    }

    @Test
    void q4_0MatricesAreRepackedToo() throws Exception {
        assumeThat(Q4_0Tiles.applies(256, 256)).as("32 short lanes (512-bit vectors) in use").isTrue();
        Path file = dir.resolve("q40.gguf");
        RandomModels.write(CONFIG, TensorType.Q4_0, 3, file);
        try (GgufFile loaded = ModelLoader.withCpuLayouts(GgufFile.open(file), CONFIG)) {
            assertThat(loaded.tensor("blk.0.attn_v.weight").type()).isEqualTo(TensorType.Q4_0_R32);
            assertThat(loaded.tensor("token_embd.weight").type()).isEqualTo(TensorType.Q4_0_R32);  // tied
        }
    }

    @Test
    void q6_kMatricesAreRepackedToo() throws Exception {
        assumeThat(Q6_KTiles.applies(256, 256)).as("32 short lanes (512-bit vectors) in use").isTrue();
        Path file = dir.resolve("q6k.gguf");
        RandomModels.write(CONFIG, TensorType.Q6_K, 3, file);
        try (GgufFile loaded = ModelLoader.withCpuLayouts(GgufFile.open(file), CONFIG)) {
            assertThat(loaded.tensor("blk.0.attn_v.weight").type()).isEqualTo(TensorType.Q6_K_R32);
            assertThat(loaded.tensor("blk.1.ffn_down.weight").type()).isEqualTo(TensorType.Q6_K_R32);
            assertThat(loaded.tensor("token_embd.weight").type()).isEqualTo(TensorType.Q6_K_R32);  // tied
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_K", "Q4_0", "Q6_K"})
    void greedyTokensAreTheStoredLayoutsBarNearTies(TensorType type) throws Exception {
        assumeThat(Q4_KTiles.applies(256, 256)).as("32 short lanes (512-bit vectors) in use").isTrue();
        Path file = dir.resolve("model.gguf");
        RandomModels.write(CONFIG, type, 4, file);
        SplittableRandom random = new SplittableRandom(9);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            int[] p = new int[1 + random.nextInt(30)];
            p[0] = 1;
            for (int j = 1; j < p.length; j++) p[j] = 3 + random.nextInt(CONFIG.vocabSize() - 3);
            prompts.add(p);
        }
        List<int[]> repacked, stored;
        try (LanguageModel<?> model = ModelLoader.load(file)) {
            repacked = new SequenceRunner(model, 64, 16, 1).generate(prompts, 12, Integer.MAX_VALUE);
        }
        System.setProperty("quire.mmap-weights", "true");
        try (LanguageModel<?> model = ModelLoader.load(file)) {
            SequenceRunner runner = new SequenceRunner(model, 64, 16, 1);
            stored = runner.generate(prompts, 12, Integer.MAX_VALUE);
            for (int i = 0; i < prompts.size(); i++) {
                int[] a = repacked.get(i), b = stored.get(i);
                int k = 0;
                while (k < b.length && a[k] == b[k]) k++;
                if (k == b.length) continue;
                // The two layouts' kernels sum in different orders, and so does a kernel before and after C2
                // compiles it: they may part only where the stored layout's two tokens all but tie.
                int[] prefix = new int[prompts.get(i).length + k];
                System.arraycopy(prompts.get(i), 0, prefix, 0, prompts.get(i).length);
                System.arraycopy(b, 0, prefix, prompts.get(i).length, k);
                float[] logits = runner.lastLogits(prefix, Integer.MAX_VALUE);
                float largest = 0;
                for (float l : logits) largest = Math.max(largest, Math.abs(l));
                assertThat(logits[a[k]]).as("prompt %d, step %d: token %d against %d", i, k, a[k], b[k])
                        .isCloseTo(logits[b[k]], Offset.offset(NEAR_TIE * largest));
            }
        } finally {
            System.clearProperty("quire.mmap-weights");
        }
        assertThat(Files.exists(file)).isTrue();
    }
}
