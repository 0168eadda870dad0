package io.quire.cli;

import io.quire.backend.KvCache;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.Parallel;
import io.quire.model.ForwardBatch;
import io.quire.model.KvCacheDtype;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.RandomModels;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Prefill time of the model runner alone (no scheduler, no HTTP): one prompt of {@code --prompt}
 * tokens in one forward pass through the paged KV cache, what a long prompt's time to first token
 * costs in the model. Untimed passes first, for {@code --warmup-seconds} (default 5) and at least two,
 * and on while a pass allocates like uncompiled kernels and the JIT still compiles ({@link Warmup}), then
 * the timed ones; the median and the fastest are reported, and what a timed pass allocated on average (with
 * a note under the table when that was more than compiled kernels allocate). With two warm-up passes
 * alone, C2 had not compiled the kernels of a short prompt by the timed ones: {@code --model
 * l86m-Q4_K_M.gguf --prompt 16 --threads 1} took 72 ms median where it takes 35 once compiled; 3 s of
 * warm-up were still 76 ms, 4 and 5 s 36.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar target/quire-*.jar bench prefill \
 *     [--model PATH | --types F32] [--prompt 500] [--threads 1,2] [--repeats 5] [--kv-cache-dtype auto]
 *     [--warmup-seconds 5]</pre>
 */
public final class PrefillBench {
    private PrefillBench() {}

    public static int run(String[] args) {
        Args a = new Args(args, 2);
        List<TensorType> types = a.list("--types", "F32").stream().map(TensorType::valueOf).toList();
        List<Integer> prompts = a.ints("--prompt", "500");
        List<Integer> threads = a.ints("--threads", "1," + Runtime.getRuntime().availableProcessors());
        int repeats = Integer.parseInt(a.get("--repeats", "5"));
        double warmupSeconds = Double.parseDouble(a.get("--warmup-seconds", "5"));
        if (!(warmupSeconds >= 0)) {
            throw new IllegalArgumentException("--warmup-seconds must be at least 0, got " + warmupSeconds);
        }
        String file = a.get("--model", null);
        List<KvCacheDtype> kvDtypes = a.list("--kv-cache-dtype", "auto").stream().map(KvCacheDtype::parse).toList();
        if (repeats < 1) throw new IllegalArgumentException("--repeats must be at least 1, got " + repeats);
        for (int p : prompts) {
            if (p < 1) throw new IllegalArgumentException("--prompt lengths must be positive, got " + p);
        }
        ModelConfig config = RandomModels.LLAMA_110M;
        System.out.printf(Locale.ROOT, "prefill benchmark: %s, %d timed passes after %s s of warm-up passes (at least 2)%n",
                file == null ? "random Llama " + String.format(Locale.ROOT, "%,d", config.parameterCount(true))
                        + " parameters" : file, repeats, warmupSeconds);
        System.out.printf(Locale.ROOT, "%-14s %-8s %7s %7s %11s %11s %12s %14s%n", "model", "kv", "threads", "prompt",
                "median ms", "best ms", "prompt tok/s", "KiB/pass");
        double most = 0;  // the most a timed pass allocated on average, over the runs
        for (TensorType type : file == null ? types : List.of(TensorType.F32)) {
            try (LanguageModel<?> model = file == null ? RandomModels.load(config, type, 42) : DecodeBench.load(file)) {
                String label = file == null ? type.name() : Path.of(file).getFileName().toString();
                int context = model.config().contextLength();
                for (int p : prompts) {
                    if (p > context) throw new IllegalArgumentException("--prompt " + p + " is longer than the model's"
                            + " context of " + context + " tokens");
                }
                for (KvCacheDtype kv : kvDtypes) {
                    model.useKvCacheDtype(kv);
                    String kvLabel = KvCacheDtype.nameOf(model.kvCacheSpec(16).type());
                    for (int prompt : prompts) {
                        for (int t : threads) {
                            Parallel.setThreads(t);
                            double[] ms = measure(model, prompt, repeats, warmupSeconds);
                            System.out.printf(Locale.ROOT, "%-14s %-8s %7d %7d %11.1f %11.1f %12.1f %14.1f%n", label,
                                    kvLabel, t, prompt, ms[0], ms[1], 1000.0 * prompt / ms[0], ms[2] / 1024);
                            most = Math.max(most, ms[2]);
                        }
                    }
                }
            }
        }
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
        String note = Warmup.boxingNote(most);
        if (note != null) System.out.println(note);
        return 0;
    }

    /**
     * Median and fastest milliseconds of one {@code prompt}-token prefill, each into the same cache, and the
     * heap bytes a timed pass allocated on average, after untimed passes for {@code warmupSeconds} (at least
     * two) and on while they allocate like uncompiled kernels. An average, not the most of one pass: the
     * helper threads' allocations reach the JVM's count when they hand a TLAB back, tens of KiB at once, so
     * one pass in a few showed them (a 500-token F32 pass: 110.7 KiB, every 30 passes one of 173.4, over
     * the threshold of {@link Warmup#boxingNote}: a note about boxing where none happened).
     */
    static <C extends KvCache> double[] measure(LanguageModel<C> model, int prompt, int repeats, double warmupSeconds) {
        int blockSize = 16;
        int blocks = (prompt + blockSize - 1) / blockSize;
        int vocab = model.config().vocabSize();
        int[] tokens = new int[prompt], positions = new int[prompt], slots = new int[prompt];
        int[][] tables = new int[1][blocks];
        // every other block, never contiguous
        for (int i = 0; i < blocks; i++) tables[0][i] = 2 * i;
        for (int p = 0; p < prompt; p++) {
            tokens[p] = 3 + (p * 7) % (vocab - 3);
            positions[p] = p;
            slots[p] = tables[0][p / blockSize] * blockSize + p % blockSize;
        }
        ForwardBatch batch = new ForwardBatch(tokens, positions, slots, new int[] {0, prompt}, tables);
        // One cache for every pass, each writing the same slots: a server hands out written blocks before
        // fresh ones (BlockPool), and llama-bench reuses its KV buffer. A fresh cache per pass paid the
        // kernel's clearing of its new pages every pass (perf: clear_page_erms, 3% of a one-thread
        // 500-token Q4_0 pass of the 86M model).
        C cache = model.newKvCache(2 * blocks, blockSize);
        Warmup.run(warmupSeconds, 2, () -> {
            long before = HeapAllocations.total();
            model.forward(batch, cache);
            return HeapAllocations.total() - before;
        });
        double[] times = new double[repeats];
        long allocated = 0;
        for (int i = 0; i < repeats; i++) {
            long before = HeapAllocations.total();
            long start = System.nanoTime();
            model.forward(batch, cache);
            times[i] = (System.nanoTime() - start) / 1e6;
            allocated += HeapAllocations.total() - before;
        }
        Arrays.sort(times);
        return new double[] {times[repeats / 2], times[0], (double) allocated / repeats};
    }
}
