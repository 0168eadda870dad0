package io.quire.model;

import io.quire.SharedFiles;
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
     * within 16-bit error: FP16 within 2e-2, BF16 (8 mantissa bits) within 4e-2. A Q8_0 model's CPU
     * activations are rounded through Q8_0 as in llama.cpp (8 bits, like BF16's), while the GPU multiplies
     * the dequantized FP16 weights by unrounded activations: 4e-2 there too.
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
            try (LanguageModel<?> cpu = ModelLoader.load(tmp); CudaLlamaModel gpu = CudaLlamaModel.load(tmp, "gpu",
                    Cuda.device(), dtype)) {
                TwoStepBatch.Result ref = TwoStepBatch.run(cpu), got = TwoStepBatch.run(gpu);
                double err = Math.max(Math.max(TwoStepBatch.worstRelativeError(ref.logits(), got.logits()),
                        TwoStepBatch.worstEveryTokenError(ref.everyToken(), got.everyToken())),
                        TwoStepBatch.worstRelativeError(ref.hidden(), got.hidden()));
                assertThat(err).as(c.architecture() + " " + type + " as " + dtype)
                        .isLessThan(dtype.equals("float16") && type != TensorType.Q8_0 ? 2e-2 : 4e-2);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Test
    void greedyStories260KEqualsTheCpu() throws Exception {
        assumeTrue(Cuda.available(), Cuda::unavailableReason);
        Path path = SharedFiles.require("models/stories260K.gguf");
        List<Integer> cpu, gpu;
        try (LanguageModel<?> m = ModelLoader.load(path)) {
            cpu = io.quire.cli.CudaCheckAccess.greedy(m, 32);
        }
        try (LanguageModel<?> m = CudaLlamaModel.load(path, "stories260K", Cuda.device())) {
            gpu = io.quire.cli.CudaCheckAccess.greedy(m, 32);
        }
        assertThat(gpu).isEqualTo(cpu);
    }
}
