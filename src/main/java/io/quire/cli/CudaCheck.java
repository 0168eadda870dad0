package io.quire.cli;

import io.quire.backend.KvCache;
import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;
import io.quire.backend.cuda.Cuda;
import io.quire.backend.cuda.CudaDevice;
import io.quire.backend.cuda.CudaKernels;
import io.quire.backend.cuda.CudaKvCache;
import io.quire.backend.cuda.DeviceBuffer;
import io.quire.backend.cuda.KernelModule;
import io.quire.cli.check.KernelCheck;
import io.quire.model.CudaLlamaModel;
import io.quire.model.ForwardBatch;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.ModelLoader;
import io.quire.model.RandomModels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code quire cuda-check}: the GPU acceptance run, in one go. Compares every kernel with the CPU
 * backend on fresh random inputs, compiles every kernel source with NVRTC, times paged-attention
 * decode (effective GB/s) next to a device-to-device copy, measures generation throughput of a
 * 1B-parameter random Llama in FP16 (then BF16) at batch 1, 32 and 128, runs a greedy stories260K completion
 * on the GPU and the CPU, and prints a summary table last. Exit code 0 when every check passed,
 * 1 when one failed, 3 when no GPU can be used.
 *
 * <pre>quire cuda-check [--seed N] [--stories PATH] [--skip-1b true] [--skip-bandwidth true]
 *     [--bandwidth-seqs 64] [--bandwidth-context 2048] [--kernels-only true]
 *     [--throughput-model 1b|small] [--batches 1,32,128] [--steps 32]</pre>
 */
public final class CudaCheck {
    private CudaCheck() {}

    /** For cuda/check.sh, which runs the classes unpacked (no dependence on the Cli wiring). */
    public static void main(String[] args) {
        System.setProperty("logback.configurationFile", "cli-logback.xml");
        System.exit(run(args));
    }

    public static int run(String[] args) {
        Args a = new Args(args, args.length > 0 && args[0].equals("cuda-check") ? 1 : 0);
        long seed = Long.parseLong(a.get("--seed", String.valueOf(System.nanoTime())));
        String stories = a.get("--stories", "/work/shared/models/stories260K.gguf");
        boolean skip1b = Boolean.parseBoolean(a.get("--skip-1b", "false"));
        List<Integer> batches = a.ints("--batches", "1,32,128");
        int steps = Integer.parseInt(a.get("--steps", "32"));
        boolean kernelsOnly = Boolean.parseBoolean(a.get("--kernels-only", "false"));
        boolean skipBandwidth = Boolean.parseBoolean(a.get("--skip-bandwidth", "false"));
        int benchSeqs = Integer.parseInt(a.get("--bandwidth-seqs", "64"));
        int benchContext = Integer.parseInt(a.get("--bandwidth-context", "2048"));
        // "small" swaps the 1B model for the server's small default: a smoke test of this path.
        ModelConfig throughputModel = switch (a.get("--throughput-model", "1b")) {
            case "1b" -> LLAMA_1B;
            case "small" -> RandomModels.DEFAULT;
            default -> throw new IllegalArgumentException("--throughput-model must be 1b or small");
        };

        if (!Cuda.available()) {
            System.out.println("cuda-check: " + Cuda.unavailableReason());
            return 3;
        }
        CudaDevice device = Cuda.device();
        System.out.println("device: " + device.describe());
        Map<String, String> summary = new LinkedHashMap<>();
        boolean ok = true;

        System.out.printf(Locale.ROOT, "%n== kernels vs CPU backend (seed %d; normwise max|gpu-cpu|/max|cpu|) ==%n",
                seed);
        try {
            List<KernelCheck.Result> results = KernelCheck.run(device, seed);
            for (KernelCheck.Result r : results) {
                System.out.printf(Locale.ROOT, "%-58s rel.err %.2e (tol %.0e)  unwritten %d/%d  %s%n",
                        r.kernel(), r.relError(), r.tolerance(), r.unwritten(), r.elements(),
                        r.passed() ? "PASS" : "FAIL");
                summary.put("kernel " + r.kernel(),
                        String.format(Locale.ROOT, "%.2e %s", r.relError(), r.passed() ? "PASS" : "FAIL"));
                ok &= r.passed();
            }
            System.out.println("modules loaded from: " + device.moduleSources());
            summary.put("modules loaded from", device.moduleSources().toString());
        } catch (RuntimeException e) {
            ok = false;
            e.printStackTrace(System.out);
            summary.put("kernels", "ERROR " + e.getMessage());
        }

        if (kernelsOnly) return finish(summary, ok);

        System.out.println("\n== NVRTC: every cuda/*.cu compiled at run time and loaded ==");
        try {
            Map<String, String> nv = KernelModule.checkNvrtc(device);
            nv.forEach((k, v) -> System.out.println(k + ": " + v));
            boolean nvOk = nv.values().stream().allMatch("ok"::equals);
            summary.put("nvrtc compile+load", nvOk ? "PASS" : "FAIL " + nv);
            ok &= nvOk;
        } catch (RuntimeException e) {
            ok = false;
            summary.put("nvrtc compile+load", "ERROR " + e.getMessage());
        }

        if (!skipBandwidth) {
            System.out.println("\n== paged-attention decode bandwidth ==");
            try {
                attentionBandwidth(device, benchSeqs, benchContext, summary);
            } catch (RuntimeException e) {
                ok = false;
                e.printStackTrace(System.out);
                summary.put("attention bandwidth", "ERROR " + e.getMessage());
            }
        }

        System.out.println("\n== greedy stories260K: GPU vs CPU ==");
        try {
            boolean same = stories(Path.of(stories), summary);
            ok &= same;
        } catch (Exception e) {
            ok = false;
            e.printStackTrace(System.out);
            summary.put("stories260K greedy", "ERROR " + e.getMessage());
        }

        if (!skip1b) {
            System.out.println("\n== generation throughput: random Llama, FP16 then BF16 ==");
            try {
                throughput(device, throughputModel, batches, steps, summary);
            } catch (Exception e) {
                ok = false;
                e.printStackTrace(System.out);
                summary.put("1B throughput", "ERROR " + e.getMessage());
            }
        }

        return finish(summary, ok);
    }

    private static int finish(Map<String, String> summary, boolean ok) {
        System.out.println("\n== summary ==");
        int w = summary.keySet().stream().mapToInt(String::length).max().orElse(10);
        summary.forEach((k, v) -> System.out.printf(Locale.ROOT, "%-" + w + "s  %s%n", k, v));
        System.out.println(ok ? "cuda-check: all checks passed" : "cuda-check: SOME CHECKS FAILED");
        return ok ? 0 : 1;
    }

    /**
     * Decode attention over {@code seqs} sequences of {@code ctx} positions (default 64 x 2048;
     * Llama-3-8B heads: 32 query, 8 KV, head size 128, blocks of 16): effective GB/s counts each K
     * and V byte of the contexts once, next to a 1 GiB device-to-device copy counted as bytes read
     * plus bytes written.
     */
    private static void attentionBandwidth(CudaDevice device, int seqs, int ctx, Map<String, String> summary) {
        if (seqs <= 0 || ctx <= 0 || ctx % 16 != 0) {
            throw new IllegalArgumentException("bandwidth needs positive sequences and a context that is a multiple"
                    + " of 16");
        }
        int heads = 32, kvHeads = 8, headDim = 128, bs = 16;
        int blocksPerSeq = ctx / bs, blocks = seqs * blocksPerSeq;
        CudaKernels k = device.kernels();
        List<DeviceBuffer> bufs = new ArrayList<>();
        KvCacheSpec spec = new KvCacheSpec(bs, 1, kvHeads, headDim, TensorType.F16);
        try (CudaKvCache cache = new CudaKvCache(device, spec, blocks, 0)) {
            // Garbage-free inputs: zeroed K/V would be as fast, but fill with 1.0 (FP16 0x3c00) to be plain.
            device.bind();
            int[] tables = new int[seqs * blocksPerSeq];
            for (int s = 0; s < seqs; s++) {
                for (int i = 0; i < blocksPerSeq; i++) tables[s * blocksPerSeq + i] = i * seqs + s;
            }
            int[] pos = new int[seqs], idx = new int[seqs];
            for (int s = 0; s < seqs; s++) {
                pos[s] = ctx - 1;
                idx[s] = s;
            }
            float[] q = new float[seqs * heads * headDim];
            Arrays.fill(q, 0.01f);
            DeviceBuffer dq = track(bufs, device.upload(q)), dt = track(bufs, device.upload(tables));
            DeviceBuffer dp = track(bufs, device.upload(pos)), di = track(bufs, device.upload(idx));
            DeviceBuffer out = track(bufs, device.alloc(2L * seqs * heads * headDim));
            int parts = CudaKernels.partitionsFor(ctx, CudaKernels.PARTITION_SIZE);
            DeviceBuffer tmp = track(bufs, device.alloc(4L * seqs * heads * parts * (headDim + 2)));
            long ml = tmp.ptr() + 4L * seqs * heads * parts * headDim, es = ml + 4L * seqs * heads * parts;
            float scale = (float) (1 / Math.sqrt(headDim));
            double kvBytes = 2.0 * seqs * ctx * kvHeads * headDim * 2;
            int iters = 20;
            for (int variant = 0; variant < 2; variant++) {
                boolean v2 = variant == 1;
                Runnable once = () -> k.attentionDecode(out.ptr(), dq.ptr(), heads * headDim, cache.keys(0),
                        cache.values(0), di.ptr(), di.ptr(), dp.ptr(), dt.ptr(), blocksPerSeq, seqs, heads, kvHeads,
                        headDim, bs, scale, v2 ? CudaKernels.PARTITION_SIZE : ctx, v2 ? parts : 1, tmp.ptr(), ml, es);
                once.run();
                float ms = device.time(() -> {
                    for (int i = 0; i < iters; i++) once.run();
                }) / iters;
                double gbs = kvBytes / (ms * 1e-3) / 1e9;
                String name = v2 ? "decode attention v2 (split-K)" : "decode attention v1";
                System.out.printf(Locale.ROOT,
                        "%s: %d sequences x %d positions, %.3f ms per call, %.0f MB of K/V, %.0f GB/s%n", name, seqs,
                        ctx, ms, kvBytes / 1e6, gbs);
                summary.put(name + " GB/s", String.format(Locale.ROOT, "%.0f", gbs));
            }
            long copyBytes = 1L << 30;
            DeviceBuffer a = track(bufs, device.alloc(copyBytes)), b = track(bufs, device.alloc(copyBytes));
            device.copy(a, 0, b, 0, copyBytes);
            float ms = device.time(() -> {
                for (int i = 0; i < 10; i++) device.copy(a, 0, b, 0, copyBytes);
            }) / 10;
            double gbs = 2.0 * copyBytes / (ms * 1e-3) / 1e9;
            System.out.printf(Locale.ROOT, "device-to-device copy of 1 GiB: %.3f ms, %.0f GB/s (read + write)%n", ms,
                    gbs);
            summary.put("d2d copy GB/s (read+write)", String.format(Locale.ROOT, "%.0f", gbs));
        } finally {
            device.synchronize();
            for (DeviceBuffer b : bufs) b.close();
        }
    }

    private static DeviceBuffer track(List<DeviceBuffer> l, DeviceBuffer b) {
        l.add(b);
        return b;
    }

    /** BOS + "Once upon a time", 32 greedy tokens on each device; true when they are the same. */
    private static boolean stories(Path path, Map<String, String> summary) throws Exception {
        if (!Files.exists(path)) {
            System.out.println("stories260K not found at " + path + " (pass --stories PATH)");
            summary.put("stories260K greedy", "SKIPPED (no model file)");
            return true;
        }
        List<Integer> cpuTokens, gpuTokens;
        try (LanguageModel<?> cpu = ModelLoader.load(path)) {
            cpuTokens = greedy(cpu, 32);
        }
        try (LanguageModel<?> gpu = CudaLlamaModel.load(path, "stories260K", Cuda.device())) {
            gpuTokens = greedy(gpu, 32);
        }
        System.out.println("CPU: " + cpuTokens);
        System.out.println("GPU: " + gpuTokens);
        boolean same = cpuTokens.equals(gpuTokens);
        summary.put("stories260K greedy 32 tokens GPU == CPU", same ? "PASS" : "FAIL");
        return same;
    }

    static <C extends KvCache> List<Integer> greedy(LanguageModel<C> model, int count) {
        List<Integer> prompt = new ArrayList<>(List.of(1, 403, 407, 261, 378));  // <s> Once upon a time
        int bs = 16, maxLen = prompt.size() + count;
        int[] table = new int[(maxLen + bs - 1) / bs];
        for (int i = 0; i < table.length; i++) table[i] = table.length - 1 - i;  // not contiguous on purpose
        C cache = model.newKvCache(table.length, bs);
        try {
            int n = prompt.size();
            int[] toks = prompt.stream().mapToInt(Integer::intValue).toArray();
            int[] pos = new int[n], slots = new int[n];
            for (int p = 0; p < n; p++) {
                pos[p] = p;
                slots[p] = table[p / bs] * bs + p % bs;
            }
            float[][] logits = model.forward(new ForwardBatch(toks, pos, slots, new int[] {0, n}, new int[][] {table}),
                    cache);
            List<Integer> out = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int next = argmax(logits[0]);
                out.add(next);
                int p = n + i;
                if (i == count - 1) break;
                logits = model.forward(new ForwardBatch(new int[] {next}, new int[] {p},
                        new int[] {table[p / bs] * bs + p % bs}, new int[] {0, 1}, new int[][] {table}), cache);
            }
            return out;
        } finally {
            if (cache instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // best effort
                }
            }
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /** Llama-3.2-1B-like shape with a 32K vocabulary: 1.1 B parameters. */
    static final ModelConfig LLAMA_1B = ModelConfig.llama(2048, 16, 32, 8, 8192, 32000, 2048);

    private static void throughput(CudaDevice device, ModelConfig c, List<Integer> batches, int steps,
                                   Map<String, String> summary) throws Exception {
        System.out.printf(Locale.ROOT,
                "random Llama: %,d parameters (dim %d, %d layers, %d/%d heads, ffn %d, vocab %d)%n",
                c.parameterCount(false), c.dim(), c.numLayers(), c.numHeads(), c.numKvHeads(), c.ffnDim(),
                c.vocabSize());
        Path tmp = Files.createTempFile("quire-1b-", ".gguf");
        try {
            long t0 = System.nanoTime();
            RandomModels.write(c, TensorType.F16, 7, tmp);
            long t1 = System.nanoTime();
            // The F16 file as FP16 (the figure), then as BF16 (the BF16 kernels and cuBLAS path).
            for (String dtype : List.of("float16", "bfloat16")) {
                long t1b = System.nanoTime();
                try (CudaLlamaModel model = CudaLlamaModel.load(tmp, "random-1b", device, dtype)) {
                    long t2 = System.nanoTime();
                    System.out.printf(Locale.ROOT, "%s: written in %.1f s, uploaded in %.1f s; %s%n", dtype,
                            (t1 - t0) / 1e9, (t2 - t1b) / 1e9, device.describe());
                    System.out.printf(Locale.ROOT, "%8s %12s %12s%n", "batch", "tokens/s", "ms/step");
                    String label = dtype.equals("float16") ? "FP16" : "BF16";
                    if (dtype.equals("float16")) {
                        // One decode step's driver calls: greedy over 3 tokens minus greedy over 2.
                        long l0 = device.launches();
                        greedy(model, 2);
                        long l1 = device.launches();
                        greedy(model, 3);
                        long perStep = (device.launches() - l1) - (l1 - l0);
                        System.out.printf(Locale.ROOT, "kernel launches + cuBLAS calls per decode step: %d%n", perStep);
                        summary.put((c == LLAMA_1B ? "1B" : "small") + " launches per decode step",
                                String.valueOf(perStep));
                    }
                    for (int b : batches) {
                        double tps = DecodeBench.measure(model, b, 16, steps);
                        System.out.printf(Locale.ROOT, "%8d %12.1f %12.2f%n", b, tps, 1000.0 * b / tps);
                        summary.put((c == LLAMA_1B ? "1B" : "small") + " " + label + " decode tokens/s, batch " + b,
                                String.format(Locale.ROOT, "%.1f (%.2f ms/step)", tps, 1000.0 * b / tps));
                    }
                }
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
