package io.quire.model;

import io.quire.backend.TensorType;
import io.quire.backend.cuda.Cuda;
import io.quire.cli.check.KernelCheck;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Run by {@code CudaEmulatedDeviceTest} in its own JVM over the emulated GPU (cuda/emu): the real
 * Java backend end to end on the CPU. Every kernel against the CPU backend (KernelCheck), the GPU
 * model runner against the CPU model on random llama/qwen2 models in F16 and Q8_0 (mixed
 * prefill + decode steps), and greedy stories260K, from its GGUF file and as a Hugging Face folder.
 * Prints "emulated device ok" or throws.
 */
public final class EmulatedDeviceMain {
    private EmulatedDeviceMain() {}

    public static void main(String[] args) throws Exception {
        if (!Cuda.available()) throw new AssertionError(Cuda.unavailableReason());
        System.out.println(Cuda.device().describe());
        if (args.length > 1 && args[1].equals("engine-only")) {  // for working on that check alone
            if (!engineWithSwap(Path.of(args[0]))) throw new AssertionError("engine with swap failed");
            return;
        }
        boolean ok = true;
        for (KernelCheck.Result r : KernelCheck.run(Cuda.device(), 7)) {
            System.out.printf("%-58s %.2e unwritten %d %s%n", r.kernel(), r.relError(), r.unwritten(), r.passed()
                    ? "PASS" : "FAIL");
            ok &= r.passed();
        }
        for (ModelConfig c : List.of(
                ModelConfig.llama(128, 2, 4, 2, 256, 400, 256),
                new ModelConfig("qwen2", 128, 2, 4, 2, 32, 256, 400, 256, 1e-6f, 1000000f, 1f, true, true))) {
            // Stored type and GPU dtype: auto keeps FP16 for F16/Q8_0/F32 and BF16 for BF16 files.
            String[][] cases = {{"F16", "auto"}, {"Q8_0", "auto"}, {"F32", "auto"}, {"BF16", "auto"},
                    {"F16", "bfloat16"}, {"Q8_0", "bfloat16"}};
            for (String[] cs : cases) {
                TensorType type = TensorType.valueOf(cs[0]);
                Path tmp = Files.createTempFile("quire-emu-", ".gguf");
                try {
                    RandomModels.write(c, type, 5, tmp);
                    try (LanguageModel<?> cpu = ModelLoader.load(tmp); CudaLlamaModel gpu = CudaLlamaModel.load(tmp,
                            "gpu", Cuda.device(), cs[1])) {
                        TwoStepBatch.Result b = TwoStepBatch.run(gpu);
                        TwoStepBatch.Result ref = TwoStepBatch.run(cpu);
                        double worst = Math.max(Math.max(TwoStepBatch.worstRelativeError(ref.logits(), b.logits()),
                                TwoStepBatch.worstEveryTokenError(ref.everyToken(), b.everyToken())),
                                TwoStepBatch.worstRelativeError(ref.hidden(), b.hidden()));
                        long lastDecodeLaunches = b.decodeLaunches();
                        // BF16 keeps 8 mantissa bits to FP16's 11: its roundings cost about 8x more. The CPU rounds a
                        // Q8_0 model's activations through Q8_0 as llama.cpp does (8 bits too); the GPU does not.
                        boolean eightBit = gpu.dtype() == io.quire.backend.cuda.CudaDtype.BFLOAT16
                                || type == TensorType.Q8_0;
                        // One decode step: embedding, 10 launches a layer (11 with Qwen2's biases), final norm and LM
                        // head.
                        long expectedLaunches = 3 + (long) c.numLayers() * (c.architecture().equals("qwen2") ? 11 : 10);
                        boolean launchesOk = lastDecodeLaunches == expectedLaunches;
                        if (!launchesOk) System.out.printf("decode step made %d launches, expected %d FAIL%n",
                                lastDecodeLaunches, expectedLaunches);
                        boolean pass = worst < (eightBit ? 4e-2 : 2e-2)
                                && gpu.dtype().id().equals(expectedDtype(type, cs[1])) && launchesOk;
                        System.out.printf("model %s %s as %s: logits rel.err %.2e, %d launches a decode step %s%n",
                                c.architecture(), type,
                                gpu.dtype().id(), worst, lastDecodeLaunches, pass ? "PASS" : "FAIL");
                        ok &= pass;
                    }
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
        }
        if (args.length > 0 && Files.exists(Path.of(args[0]))) {
            List<Integer> cpu, gpu;
            try (LanguageModel<?> m = ModelLoader.load(Path.of(args[0]))) {
                cpu = io.quire.cli.CudaCheckAccess.greedy(m, 32);
            }
            try (LanguageModel<?> m = CudaLlamaModel.load(Path.of(args[0]), "stories260K", Cuda.device())) {
                gpu = io.quire.cli.CudaCheckAccess.greedy(m, 32);
            }
            System.out.println("stories260K CPU " + cpu);
            System.out.println("stories260K GPU " + gpu);
            boolean same = cpu.equals(gpu);
            System.out.println("stories260K greedy " + (same ? "PASS" : "FAIL"));
            ok &= same;
            // The same model as a Hugging Face folder (F32 safetensors in two shards) on the GPU.
            Path hfRoot = Files.createTempDirectory("quire-emu-hf");
            Path hf = HfCheckpoints.write(Path.of(args[0]), hfRoot.resolve("stories-hf"), TensorType.F32, 2, null);
            List<Integer> hfGpu;
            try (LanguageModel<?> m = ModelLoader.load(hf, "stories-hf", io.quire.backend.Device.CUDA, "auto")) {
                hfGpu = io.quire.cli.CudaCheckAccess.greedy(m, 32);
            }
            boolean hfSame = cpu.equals(hfGpu);
            System.out.println("stories260K folder on the GPU " + hfGpu + " greedy " + (hfSame ? "PASS" : "FAIL"));
            ok &= hfSame;
            ok &= engineWithSwap(Path.of(args[0]));
        }
        if (!ok) throw new AssertionError("emulated device: some checks failed");
        System.out.println("emulated device ok");
    }

    /**
     * The engine on the GPU model with a KV pool too small for its requests and pinned swap space:
     * sequences swapped out to host memory and back must continue exactly as they do alone, and
     * every block must return to the pools.
     */
    static boolean engineWithSwap(Path model) throws Exception {
        // Three prompts of one block each fit the pool of 4; each then grows into a second block,
        // so preemption must happen. Short, as the emulated GPU takes about a second a step.
        java.util.Random rnd = new java.util.Random(3);
        List<int[]> prompts = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int[] p = new int[12 + i];
            p[0] = 1;
            for (int j = 1; j < p.length; j++) p[j] = 3 + rnd.nextInt(509);
            prompts.add(p);
        }
        io.quire.engine.SamplingParams params = io.quire.engine.SamplingParams.greedy(8).withIgnoreEos(true);
        try (CudaLlamaModel gpu = CudaLlamaModel.load(model, "stories260K", Cuda.device())) {
            ModelConfig c = gpu.config();
            try (io.quire.backend.cuda.CudaKvCache wrongType = new io.quire.backend.cuda.CudaKvCache(Cuda.device(),
                    c.kvCacheSpec(16, TensorType.BF16), 4, 0)) {
                gpu.forward(new ForwardBatch(new int[] {1}, new int[] {0}, new int[] {0}, new int[] {0, 1},
                        new int[][] {{0}}), wrongType);
                System.out.println("a BF16 cache given to an FP16 model was accepted FAIL");
                return false;
            } catch (IllegalArgumentException expected) {
                System.out.println("a BF16 cache given to an FP16 model is refused: " + expected.getMessage());
            }
            long perBlock = gpu.kvCacheSpec(16).bytesPerBlock();
            // The references: all at once with room for everyone (the emulated GPU is batch-invariant).
            List<List<Integer>> alone = run(gpu, new io.quire.engine.EngineConfig(16, perBlock * 16, 8, 2048, 64),
                    prompts, params,
                    new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
            var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
            io.quire.engine.EngineConfig tight = new io.quire.engine.EngineConfig(16, perBlock * 4, 8, 64, 64)
                    .withSwapSpaceBytes(perBlock * 32).withPreemptionMode(io.quire.engine.PreemptionMode.SWAP)
                    .withPrefixCaching(false);
            boolean same = run(gpu, tight, prompts, params, registry).equals(alone);
            double out = registry.get("quire_swapped_out_blocks").counter().count();
            double in = registry.get("quire_swapped_in_blocks").counter().count();
            boolean pass = same && out > 0 && in == out;
            System.out.printf("engine with pinned swap space: %.0f blocks swapped out, %.0f in, outputs as alone %s%n",
                    out, in, pass ? "PASS" : "FAIL");
            return pass;
        }
    }

    /** Each request's tokens, after checking every KV block went back to its pool. */
    private static List<List<Integer>> run(LanguageModel<?> model, io.quire.engine.EngineConfig config,
            List<int[]> prompts,
                                           io.quire.engine.SamplingParams params,
                                           io.micrometer.core.instrument.MeterRegistry registry) {
        try (io.quire.engine.LLMEngine e = new io.quire.engine.LLMEngine(model, config, registry)) {
            List<reactor.core.publisher.Mono<List<io.quire.engine.RequestOutput>>> all = new java.util.ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) all.add(e.generate("r" + i, prompts.get(i), params, null)
                    .collectList());
            List<List<Integer>> out = new java.util.ArrayList<>();
            for (List<io.quire.engine.RequestOutput> r
                    : reactor.core.publisher.Flux.mergeSequential(all).collectList().block()) out.add(tokens(r));
            var st = e.stats();
            if (st.numFreeBlocks() != st.numTotalBlocks() || st.numFreeSwapBlocks() != st.numTotalSwapBlocks()) {
                throw new AssertionError("KV blocks leaked: " + st);
            }
            return out;
        }
    }

    private static List<Integer> tokens(List<io.quire.engine.RequestOutput> outs) {
        return outs.stream().flatMap(o -> o.deltas().stream()).flatMapToInt(d -> java.util.Arrays.stream(d.tokenIds()))
                .boxed().toList();
    }

    private static String expectedDtype(TensorType stored, String spec) {
        if (!spec.equals("auto")) return spec;
        return stored == TensorType.BF16 ? "bfloat16" : "float16";
    }
}
