package io.quire.model;

import io.quire.SharedFiles;
import io.quire.backend.KvCache;
import io.quire.backend.TensorType;
import io.quire.backend.cuda.Cuda;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The GPU model runner against the CPU model; runs only where a GPU is usable. */
class CudaLlamaModelTest {

    /**
     * A mixed step (prefill chunks and decode tokens, scattered blocks) gives the CPU's logits
     * within 16-bit error: FP16 within 2e-2, BF16 (8 mantissa bits) within 4e-2.
     */
    @Test
    void logitsMatchTheCpuModel() throws Exception {
        assumeTrue(Cuda.available(), Cuda::unavailableReason);
        for (ModelConfig c : List.of(
                ModelConfig.llama(256, 3, 8, 2, 512, 1000, 512),
                new ModelConfig("qwen2", 256, 2, 4, 2, 64, 512, 1000, 512, 1e-6f, 1000000f, 1f, true, true))) {
            for (TensorType type : List.of(TensorType.F16, TensorType.Q8_0, TensorType.BF16)) {
                for (String dtype : List.of("float16", "bfloat16")) compare(c, type, dtype);
            }
        }
    }

    private static void compare(ModelConfig c, TensorType type, String dtype) throws Exception {
        Path tmp = Files.createTempFile("quire-cuda-test-", ".gguf");
        try {
            RandomModels.write(c, type, 11, tmp);
            try (LanguageModel cpu = ModelLoader.load(tmp); CudaLlamaModel gpu = CudaLlamaModel.load(tmp, "gpu", Cuda.device(), dtype)) {
                float[][] a = twoSteps(cpu);
                float[][] b = twoSteps(gpu);
                for (int s = 0; s < a.length; s++) {
                    double err = 0, ref = 0;
                    for (int i = 0; i < a[s].length; i++) {
                        err = Math.max(err, Math.abs(a[s][i] - b[s][i]));
                        ref = Math.max(ref, Math.abs(a[s][i]));
                    }
                    assertThat(err / ref).as(c.architecture() + " " + type + " as " + dtype + ", sequence " + s)
                            .isLessThan(dtype.equals("float16") ? 2e-2 : 4e-2);
                }
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Step 1 prefills three prompts (lengths 20, 37, 1); step 2 decodes one token each. */
    private static float[][] twoSteps(LanguageModel m) {
        int bs = 16;
        int[][] tables = {{5, 2, 9}, {0, 7, 3, 11}, {4, 8}};
        KvCache cache = m.newKvCache(12, bs);
        int[] lens = {20, 37, 1};
        int n = 20 + 37 + 1;
        int[] toks = new int[n], pos = new int[n], slots = new int[n];
        int[] qs = {0, 20, 57, 58};
        for (int s = 0, t = 0; s < 3; s++) {
            for (int p = 0; p < lens[s]; p++, t++) {
                toks[t] = 3 + (t * 37 + s) % 900;
                pos[t] = p;
                slots[t] = tables[s][p / bs] * bs + p % bs;
            }
        }
        m.forward(new ForwardBatch(toks, pos, slots, qs, tables), cache);
        int[] dt = {10, 20, 30}, dp = {20, 37, 1}, ds = new int[3];
        for (int s = 0; s < 3; s++) ds[s] = tables[s][dp[s] / bs] * bs + dp[s] % bs;
        float[][] out = m.forward(new ForwardBatch(dt, dp, ds, new int[] {0, 1, 2, 3}, tables), cache);
        if (cache instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    @Test
    void greedyStories260KEqualsTheCpu() throws Exception {
        assumeTrue(Cuda.available(), Cuda::unavailableReason);
        Path path = SharedFiles.require("models/stories260K.gguf");
        List<Integer> cpu, gpu;
        try (LanguageModel m = ModelLoader.load(path)) {
            cpu = io.quire.cli.CudaCheckAccess.greedy(m, 32);
        }
        try (LanguageModel m = CudaLlamaModel.load(path, "stories260K", Cuda.device())) {
            gpu = io.quire.cli.CudaCheckAccess.greedy(m, 32);
        }
        assertThat(gpu).isEqualTo(cpu);
    }
}
