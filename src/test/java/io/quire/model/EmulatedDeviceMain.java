package io.quire.model;

import io.quire.backend.KvCache;
import io.quire.backend.TensorType;
import io.quire.backend.cuda.Cuda;
import io.quire.backend.cuda.KernelCheck;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Run by {@code CudaEmulatedDeviceTest} in its own JVM over the emulated GPU (cuda/emu): the real
 * Java backend end to end on the CPU. Every kernel against the CPU backend (KernelCheck), the GPU
 * model runner against the CPU model on random llama/qwen2 models in F16 and Q8_0 (mixed
 * prefill + decode steps), and greedy stories260K. Prints "emulated device ok" or throws.
 */
public final class EmulatedDeviceMain {
    private EmulatedDeviceMain() {}

    public static void main(String[] args) throws Exception {
        if (!Cuda.available()) throw new AssertionError(Cuda.unavailableReason());
        System.out.println(Cuda.device().describe());
        boolean ok = true;
        for (KernelCheck.Result r : KernelCheck.run(Cuda.device(), 7)) {
            System.out.printf("%-58s %.2e unwritten %d %s%n", r.kernel(), r.relError(), r.unwritten(), r.passed() ? "PASS" : "FAIL");
            ok &= r.passed();
        }
        for (ModelConfig c : List.of(
                ModelConfig.llama(128, 2, 4, 2, 256, 400, 256),
                new ModelConfig("qwen2", 128, 2, 4, 2, 32, 256, 400, 256, 1e-6f, 1000000f, 1f, true, true))) {
            for (TensorType type : List.of(TensorType.F16, TensorType.Q8_0, TensorType.F32)) {
                Path tmp = Files.createTempFile("quire-emu-", ".gguf");
                try {
                    RandomModels.write(c, type, 5, tmp);
                    try (LanguageModel cpu = ModelLoader.load(tmp); CudaLlamaModel gpu = CudaLlamaModel.load(tmp, "gpu", Cuda.device())) {
                        float[][] a = twoSteps(cpu), b = twoSteps(gpu);
                        double worst = 0;
                        for (int s = 0; s < a.length; s++) {
                            double err = 0, ref = 0;
                            for (int i = 0; i < a[s].length; i++) {
                                err = Math.max(err, Math.abs(a[s][i] - b[s][i]));
                                ref = Math.max(ref, Math.abs(a[s][i]));
                            }
                            worst = Math.max(worst, err / ref);
                        }
                        boolean pass = worst < 2e-2;
                        System.out.printf("model %s %s: logits rel.err %.2e %s%n", c.architecture(), type, worst, pass ? "PASS" : "FAIL");
                        ok &= pass;
                    }
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
        }
        if (args.length > 0 && Files.exists(Path.of(args[0]))) {
            List<Integer> cpu, gpu;
            try (LanguageModel m = ModelLoader.load(Path.of(args[0]))) {
                cpu = io.quire.cli.CudaCheckAccess.greedy(m, 32);
            }
            try (LanguageModel m = CudaLlamaModel.load(Path.of(args[0]), "stories260K", Cuda.device())) {
                gpu = io.quire.cli.CudaCheckAccess.greedy(m, 32);
            }
            System.out.println("stories260K CPU " + cpu);
            System.out.println("stories260K GPU " + gpu);
            boolean same = cpu.equals(gpu);
            System.out.println("stories260K greedy " + (same ? "PASS" : "FAIL"));
            ok &= same;
        }
        if (!ok) throw new AssertionError("emulated device: some checks failed");
        System.out.println("emulated device ok");
    }

    /** Step 1 prefills three prompts (lengths 20, 37, 1); step 2 decodes one token each. */
    static float[][] twoSteps(LanguageModel m) {
        int bs = 16;
        int[][] tables = {{5, 2, 9}, {0, 7, 3, 11}, {4, 8}};
        KvCache cache = m.newKvCache(12, bs);
        int[] lens = {20, 37, 1};
        int n = 58;
        int[] toks = new int[n], pos = new int[n], slots = new int[n];
        for (int s = 0, t = 0; s < 3; s++) {
            for (int p = 0; p < lens[s]; p++, t++) {
                toks[t] = 3 + (t * 37 + s) % 390;
                pos[t] = p;
                slots[t] = tables[s][p / bs] * bs + p % bs;
            }
        }
        m.forward(new ForwardBatch(toks, pos, slots, new int[] {0, 20, 57, 58}, tables), cache);
        int[] dp = {20, 37, 1}, ds = new int[3];
        for (int s = 0; s < 3; s++) ds[s] = tables[s][dp[s] / bs] * bs + dp[s] % bs;
        float[][] out = m.forward(new ForwardBatch(new int[] {10, 20, 30}, dp, ds, new int[] {0, 1, 2, 3}, tables), cache);
        if (cache instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }
}
