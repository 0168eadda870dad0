package io.quire.cli;

import com.sun.management.OperatingSystemMXBean;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.Parallel;
import io.quire.engine.EngineConfig;
import io.quire.engine.LLMEngine;
import io.quire.engine.PreemptionMode;
import io.quire.engine.SamplingParams;
import io.quire.kv.KvAllocationPolicy;
import io.quire.kv.KvMemoryReport;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.ModelLoader;
import io.quire.model.RandomModels;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The PagedAttention paper's memory comparison (section 6.2, figure 2, and the batch sizes of
 * section 6.3): one seeded synthetic trace run through the real engine under each KV allocation
 * policy, paging against the three Orca reservations, with the same model, KV budget and
 * scheduler limits. Requests are greedy with {@code ignore_eos} and a fixed {@code max_tokens}, so
 * each generates exactly its trace length (that is what makes Orca (Oracle)'s reservation exact)
 * and outputs can be compared across policies: a policy changes memory, never results.
 *
 * <p>Reported per policy, sampled at every step boundary: the largest and the mean batch (sequences
 * holding KV), the mean KV utilization (slots holding token states over slots allocated: the
 * paper's "96% vs 20-38%") with the rest split into reserved-ahead and internal fragmentation, the
 * mean share of the pool in use, preemptions, and throughput (output tokens/s, requests/s).
 *
 * <p>Default run (a few minutes on 2 cores): a small random Llama (dim 256, 4 layers, vocab
 * 4096), 200 requests all arriving at once, ShareGPT-like lengths at half scale (means 81 in, 169
 * out), max model length 1024, a KV budget of 512 blocks of 16 tokens (8192 tokens: eight
 * max-length requests, the paper's ratio for a 13B model on an A100), prefix caching off.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar target/quire-*.jar bench kv [--model small|110m|dummy|PATH]
 *     [--weights F32|Q8_0|Q4_0] [--policies PAGED,ORCA_MAX,ORCA_POW2,ORCA_ORACLE] [--num-requests 200] [--seed 0]
 *     [--dataset sharegpt-like|uniform] [--length-scale 0.5] [--input-len 16:128] [--output-len 16:256]
 *     [--request-rate inf] [--max-model-len 1024] [--kv-blocks 512] [--block-size 16] [--max-num-seqs 256]
 *     [--max-num-batched-tokens 2048] [--preemption-mode auto|recompute|swap] [--swap-blocks 0]
 *     [--threads N] [--warmup-requests 32] [--json FILE]</pre>
 */
public final class KvPolicyBench {
    private KvPolicyBench() {}

    /** The default benchmark model: small enough for a few minutes on 2 cores (about 4M parameters). */
    static final ModelConfig SMALL = RandomModels.DEFAULT;

    public static void main(String[] args) {
        String[] full = new String[args.length + 2];
        full[0] = "bench";
        full[1] = "kv";
        System.arraycopy(args, 0, full, 2, args.length);
        System.exit(run(full));
    }

    /** {@code args} as the jar's command line has them: {@code bench kv [options]}. */
    public static int run(String[] args) {
        Options o;
        try {
            o = Options.parse(new Args(args, 2));
        } catch (IllegalArgumentException e) {
            System.err.println("quire bench kv: " + e.getMessage());
            return 2;
        }
        if (o.threads > 0) Parallel.setThreads(o.threads);
        try (LanguageModel<?> model = loadModel(o)) {
            int maxModelLen = o.maxModelLen > 0 ? o.maxModelLen : model.config().contextLength();
            KvTrace trace = o.dataset.equals("uniform")
                    ? KvTrace.uniform(o.seed, o.numRequests, o.inMin, o.inMax, o.outMin, o.outMax, maxModelLen,
                            o.requestRate)
                    : KvTrace.shareGptLike(o.seed, o.numRequests, o.lengthScale, maxModelLen, o.requestRate);
            List<int[]> prompts = prompts(trace, model.config().vocabSize(), o.seed);
            System.out.printf(Locale.ROOT, "KV allocation policy benchmark: %s (%,d parameters), %d requests, %s%n",
                    model.name(), model.config().parameterCount(true), trace.items().size(), trace.description());
            System.out.printf(Locale.ROOT,
                    "mean prompt %.1f, mean output %.1f tokens; KV budget %d blocks x %d tokens = %d tokens, "
                            + "max model len %d, max %d seqs / %d tokens per step, preemption %s with %d swap blocks, "
                            + "%d threads%n",
                    trace.meanPromptLen(), trace.meanOutputLen(), o.kvBlocks, o.blockSize, o.kvBlocks * o.blockSize,
                    maxModelLen, o.maxNumSeqs, o.maxNumBatchedTokens, o.preemptionMode, o.swapBlocks,
                    Parallel.threads());
            if (o.warmupRequests > 0) {
                // Compile the hot paths first, or the first policy would pay for the JIT.
                KvTrace warm = KvTrace.uniform(o.seed + 1, o.warmupRequests, 4, Math.min(64, maxModelLen / 4), 4,
                        Math.min(32, maxModelLen / 4), maxModelLen, Double.POSITIVE_INFINITY);
                System.err.printf(Locale.ROOT, "warm-up: %d requests ...%n", o.warmupRequests);
                runPolicy(model, o, maxModelLen, KvAllocationPolicy.PAGED, warm,
                        prompts(warm, model.config().vocabSize(), o.seed + 1));
            }
            List<Result> results = new ArrayList<>();
            for (KvAllocationPolicy policy : o.policies) {
                System.err.printf(Locale.ROOT, "running %s ...%n", policy);
                results.add(runPolicy(model, o, maxModelLen, policy, trace, prompts));
            }
            int[][] first = results.getFirst().outputs;
            boolean identical = results.stream().allMatch(r -> Arrays.deepEquals(r.outputs, first));
            printTable(results, identical);
            String json = json(model, o, maxModelLen, trace, results, identical);
            System.out.println(json);
            if (o.jsonPath != null) Files.writeString(Path.of(o.jsonPath), json + "\n");
            return 0;
        } catch (IOException | RuntimeException e) {
            System.err.println("quire bench kv: " + e);
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private static LanguageModel<?> loadModel(Options o) throws IOException {
        TensorType type = TensorType.valueOf(o.weights);
        return switch (o.model) {
            case "small" -> RandomModels.load(SMALL, type, 42, "random-small");
            case "110m" -> RandomModels.load(RandomModels.LLAMA_110M, type, 42, "random-110m");
            default -> ModelLoader.load(o.model);
        };
    }

    /** Seeded random prompt token ids (a BOS, then ids past the special tokens). */
    static List<int[]> prompts(KvTrace trace, int vocabSize, long seed) {
        Random rnd = new Random(seed ^ 0x5DEECE66DL);
        List<int[]> out = new ArrayList<>();
        for (KvTrace.Item it : trace.items()) {
            int[] p = new int[it.promptLen()];
            p[0] = 1;
            for (int i = 1; i < p.length; i++) p[i] = 3 + rnd.nextInt(vocabSize - 3);
            out.add(p);
        }
        return out;
    }

    /** What one policy's run measured. */
    record Result(KvAllocationPolicy policy, int numRequests, long outputTokens, double seconds, double cpuSeconds,
                  long steps, int maxBatch, double meanBatch, double meanUtilization, double meanReserved,
                  double meanWasted, double meanUsage, double maxUsage, long preemptions, int[][] outputs) {
        double outputTokensPerSecond() { return outputTokens / seconds; }

        double requestsPerSecond() { return numRequests / seconds; }

        /**
         * Output tokens per CPU-second of the whole process: less sensitive than wall time to other load on a shared
         * machine.
         */
        double outputTokensPerCpuSecond() { return outputTokens / cpuSeconds; }
    }

    /** Sums of per-step samples, updated on the engine thread. */
    private static final class StepStats {
        long steps;
        int maxBatch;
        double batch, utilization, reserved, wasted, usage, maxUsage;

        void add(KvMemoryReport r) {
            int n = r.sequences().size();
            if (n == 0) return; // nothing holds memory: no step of the trace's
            steps++;
            maxBatch = Math.max(maxBatch, n);
            batch += n;
            utilization += r.utilization();
            reserved += r.reservedFraction();
            wasted += r.wastedFraction();
            usage += r.usage();
            maxUsage = Math.max(maxUsage, r.usage());
        }
    }

    static Result runPolicy(LanguageModel<?> model, Options o, int maxModelLen, KvAllocationPolicy policy,
            KvTrace trace,
                            List<int[]> prompts) throws InterruptedException {
        EngineConfig config = new EngineConfig(o.blockSize, EngineConfig.kvBytesFor(model, o.blockSize, o.kvBlocks),
                o.maxNumSeqs, o.maxNumBatchedTokens, maxModelLen, false,
                EngineConfig.kvBytesFor(model, o.blockSize, o.swapBlocks), o.preemptionMode, policy);
        int n = trace.items().size();
        int[][] outputs = new int[n][];
        int[] produced = new int[n];
        StepStats stats = new StepStats();
        CountDownLatch done = new CountDownLatch(n);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (LLMEngine engine = new LLMEngine(model, config, new SimpleMeterRegistry())) {
            engine.addKvReportListener(stats::add);
            long start = System.nanoTime();
            long cpuStart = processCpuNanos();
            for (int i = 0; i < n; i++) {
                KvTrace.Item it = trace.items().get(i);
                long due = start + (long) (it.arrivalSeconds() * 1e9);
                long wait = due - System.nanoTime();
                if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                int idx = i;
                outputs[i] = new int[it.outputLen()];
                SamplingParams params = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(),
                        false, it.outputLen(), 0, true, Map.of(), null, true);
                // Outputs arrive on the engine thread; the latch publishes them to this one.
                engine.generate(policy + "-" + i, prompts.get(i), params).subscribe(
                        out -> {
                            for (int t : out.deltas().getFirst().tokenIds()) outputs[idx][produced[idx]++] = t;
                        },
                        e -> { failure.compareAndSet(null, e); done.countDown(); },
                        done::countDown);
            }
            done.await();
            double seconds = (System.nanoTime() - start) / 1e9;
            double cpuSeconds = (processCpuNanos() - cpuStart) / 1e9;
            if (failure.get() != null) {
                throw new IllegalStateException("a request failed under " + policy, failure.get());
            }
            long outTokens = Arrays.stream(produced).asLongStream().sum();
            double s = Math.max(1, stats.steps);
            return new Result(policy, n, outTokens, seconds, cpuSeconds, stats.steps, stats.maxBatch, stats.batch / s,
                    stats.utilization / s, stats.reserved / s, stats.wasted / s, stats.usage / s, stats.maxUsage,
                    engine.stats().numPreemptions(), outputs);
        }
    }

    private static long processCpuNanos() {
        // The com.sun extension has the process CPU time; the java.lang.management interface does not.
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return os.getProcessCpuTime();
    }

    static void printTable(List<Result> results, boolean identical) {
        System.out.printf(Locale.ROOT, "%n%-12s %9s %10s %12s %10s %10s %10s %10s %8s %11s %8s %8s %10s%n", "policy",
                "max batch", "mean batch", "utilization", "reserved", "wasted", "mean usage", "preempts", "steps",
                "out tok/s", "req/s", "secs", "tok/cpu-s");
        for (Result r : results) {
            System.out.printf(Locale.ROOT,
                    "%-12s %9d %10.1f %11.1f%% %9.1f%% %9.1f%% %9.1f%% %10d %8d %11.1f %8.2f %8.1f %10.1f%n",
                    r.policy(), r.maxBatch(), r.meanBatch(), 100 * r.meanUtilization(), 100 * r.meanReserved(),
                    100 * r.meanWasted(), 100 * r.meanUsage(), r.preemptions(), r.steps(), r.outputTokensPerSecond(),
                    r.requestsPerSecond(), r.seconds(), r.outputTokensPerCpuSecond());
        }
        System.out.println("utilization: KV slots holding token states / slots allocated; reserved: allocated ahead"
                + " of tokens; wasted: unused slots in partly filled blocks; usage: share of the pool allocated"
                + " (all means over steps); "
                + "tok/cpu-s: output tokens per CPU-second of the process");
        System.out.println("greedy outputs identical across policies: " + (identical ? "yes" : "NO"));
        System.out.println();
    }

    static String json(LanguageModel<?> model, Options o, int maxModelLen, KvTrace trace, List<Result> results,
                       boolean identical) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("model", model.name());
        root.put("parameters", model.config().parameterCount(true));
        root.put("trace", trace.description());
        root.put("num_requests", trace.items().size());
        root.put("seed", o.seed);
        root.put("mean_prompt_len", trace.meanPromptLen());
        root.put("mean_output_len", trace.meanOutputLen());
        root.put("block_size", o.blockSize);
        root.put("kv_blocks", o.kvBlocks);
        root.put("max_model_len", maxModelLen);
        root.put("max_num_seqs", o.maxNumSeqs);
        root.put("max_num_batched_tokens", o.maxNumBatchedTokens);
        root.put("preemption_mode", o.preemptionMode.name());
        root.put("swap_blocks", o.swapBlocks);
        root.put("threads", Parallel.threads());
        root.put("outputs_identical", identical);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Result r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("policy", r.policy().name());
            m.put("max_batch", r.maxBatch());
            m.put("mean_batch", r.meanBatch());
            m.put("kv_utilization", r.meanUtilization());
            m.put("kv_reserved_fraction", r.meanReserved());
            m.put("kv_wasted_fraction", r.meanWasted());
            m.put("kv_usage_mean", r.meanUsage());
            m.put("kv_usage_max", r.maxUsage());
            m.put("preemptions", r.preemptions());
            m.put("steps", r.steps());
            m.put("output_tokens", r.outputTokens());
            m.put("duration_s", r.seconds());
            m.put("output_throughput", r.outputTokensPerSecond());
            m.put("request_throughput", r.requestsPerSecond());
            m.put("cpu_s", r.cpuSeconds());
            m.put("output_tokens_per_cpu_s", r.outputTokensPerCpuSecond());
            rows.add(m);
        }
        root.put("results", rows);
        return JsonMapper.builder().disable(SerializationFeature.INDENT_OUTPUT).build().writeValueAsString(root);
    }

    /** The parsed command line. */
    record Options(String model, String weights, List<KvAllocationPolicy> policies, int numRequests, long seed,
                   String dataset, double lengthScale, int inMin, int inMax, int outMin, int outMax, double requestRate,
                   int maxModelLen, int kvBlocks, int blockSize, int maxNumSeqs, int maxNumBatchedTokens, int threads,
                   String jsonPath, int warmupRequests, PreemptionMode preemptionMode, int swapBlocks) {

        static Options parse(Args a) {
            List<KvAllocationPolicy> policies = a.list("--policies", "PAGED,ORCA_MAX,ORCA_POW2,ORCA_ORACLE").stream()
                    .map(s -> {
                        try {
                            return KvAllocationPolicy.valueOf(s.trim().toUpperCase(Locale.ROOT));
                        } catch (IllegalArgumentException e) {
                            throw new IllegalArgumentException("--policies: unknown policy '" + s
                                    + "' (PAGED, ORCA_MAX, ORCA_POW2, ORCA_ORACLE)");
                        }
                    }).toList();
            String dataset = a.get("--dataset", "sharegpt-like");
            if (!dataset.equals("sharegpt-like") && !dataset.equals("uniform")) {
                throw new IllegalArgumentException("--dataset must be sharegpt-like or uniform, got " + dataset);
            }
            int[] in = range(a.get("--input-len", "16:128"), "--input-len");
            int[] out = range(a.get("--output-len", "16:256"), "--output-len");
            String rate = a.get("--request-rate", "inf");
            double requestRate = rate.equals("inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(rate);
            if (!(requestRate > 0)) {
                throw new IllegalArgumentException("--request-rate must be > 0 or inf, got " + rate);
            }
            Options o = new Options(a.get("--model", "small"), a.get("--weights", "F32").toUpperCase(Locale.ROOT),
                    policies, positive(a, "--num-requests", "200"), Long.parseLong(a.get("--seed", "0")), dataset,
                    Double.parseDouble(a.get("--length-scale", "0.5")), in[0], in[1], out[0], out[1], requestRate,
                    Integer.parseInt(a.get("--max-model-len", "1024")), positive(a, "--kv-blocks", "512"),
                    positive(a, "--block-size", "16"), positive(a, "--max-num-seqs", "256"),
                    positive(a, "--max-num-batched-tokens", "2048"), Integer.parseInt(a.get("--threads", "0")),
                    a.get("--json", null), Integer.parseInt(a.get("--warmup-requests", "32")),
                    preemptionMode(a.get("--preemption-mode", "auto")), Integer.parseInt(a.get("--swap-blocks", "0")));
            if (o.swapBlocks < 0) throw new IllegalArgumentException("--swap-blocks must be >= 0");
            if (o.warmupRequests < 0) throw new IllegalArgumentException("--warmup-requests must be >= 0");
            if (o.maxModelLen < 0) {
                throw new IllegalArgumentException("--max-model-len must be >= 0 (0: the model's context length)");
            }
            return o;
        }

        private static PreemptionMode preemptionMode(String s) {
            try {
                return PreemptionMode.valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--preemption-mode must be recompute, swap or auto, got " + s);
            }
        }

        private static int positive(Args a, String key, String fallback) {
            int v;
            try {
                v = Integer.parseInt(a.get(key, fallback));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + " must be an integer, got " + a.get(key, fallback));
            }
            if (v <= 0) throw new IllegalArgumentException(key + " must be positive, got " + v);
            return v;
        }

        private static int[] range(String s, String key) {
            String[] p = s.split(":");
            try {
                if (p.length == 1) return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[0])};
                if (p.length == 2) return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
            } catch (NumberFormatException e) {
                // fall through
            }
            throw new IllegalArgumentException(key + " must be N or MIN:MAX, got " + s);
        }
    }
}
