package io.quire.cli;

import io.quire.backend.TensorType;
import io.quire.backend.KvCache;
import io.quire.backend.cpu.Parallel;
import io.quire.model.ForwardBatch;
import io.quire.model.KvCacheDtype;
import io.quire.model.LanguageModel;
import io.quire.model.LoraAdapter;
import io.quire.model.ModelLoader;
import io.quire.model.ModelConfig;
import io.quire.model.RandomModels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Decode throughput of the model runner alone (no scheduler, no HTTP): a random 110M Llama
 * (dim 768, 12 layers, 12 heads, FFN 2048, vocab 32000), or the GGUF file given with
 * {@code --model}, decoding batches of sequences through the paged KV cache, for each batch size,
 * thread count and weight type, side by side in one run. Each configuration is first run untimed for
 * {@code --warmup-seconds} (default 3), and on until a run's steps allocate almost nothing or the JIT
 * has nothing left to compile ({@link Warmup}): three seconds alone left a Q4_K_M model's batch 1 timed
 * on the kernels' Java fallback in 5 of 6 runs (0.7-2.3 MB allocated a step, 4.2-6.6 ms per step where
 * it runs 2.4-3.6 ms once compiled); the last column shows what the timed steps allocated, and a note
 * under the table says when that was more than compiled kernels allocate.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar target/quire-*.jar bench decode \
 *     [--model PATH | --types F32,Q8_0,Q4_0] [--batches 1,32] [--threads 1,2] [--steps 32] [--prompt 16]
 *     [--kv-cache-dtype auto,float32,float16] [--warmup-seconds 3] [--lora ADAPTER]</pre>
 */
public final class DecodeBench {
    private DecodeBench() {}

    public static int run(String[] args) {
        Args a = new Args(args, 2);
        List<TensorType> types = a.list("--types", "F32,Q8_0,Q4_0").stream().map(TensorType::valueOf).toList();
        List<Integer> batches = a.ints("--batches", "1,32");
        List<Integer> threads = a.ints("--threads", "1," + Runtime.getRuntime().availableProcessors());
        int steps = Integer.parseInt(a.get("--steps", "32"));
        int prompt = Integer.parseInt(a.get("--prompt", "16"));
        double warmupSeconds = Double.parseDouble(a.get("--warmup-seconds", "3"));
        List<KvCacheDtype> kvDtypes = a.list("--kv-cache-dtype", "auto").stream().map(KvCacheDtype::parse).toList();
        String file = a.get("--model", null);
        String lora = a.get("--lora", null);
        ModelConfig config = RandomModels.LLAMA_110M;
        if (file == null) {
            System.out.printf(Locale.ROOT,
                    "decode benchmark: random Llama %,d parameters, prompt %d, %d decode steps per run%n",
                    config.parameterCount(true), prompt, steps);
        } else {
            System.out.printf(Locale.ROOT, "decode benchmark: %s, prompt %d, %d decode steps per run%n", file, prompt,
                    steps);
        }
        System.out.printf(Locale.ROOT, "%-6s %-8s %-5s %7s %8s %12s %12s %13s%n", "type", "kv", "lora", "threads", "batch",
                "tokens/s", "ms/step", "KiB alloc/step");
        double most = 0;  // the most a timed run allocated per step
        for (TensorType type : file == null ? types : List.of(TensorType.F32)) {
            try (LanguageModel<?> model = file == null ? RandomModels.load(config, type, 42) : load(file)) {
                String label = file == null ? type.name() : Path.of(file).getFileName().toString();
                if (lora != null) model.useAdapters(List.of(LoraAdapter.load("lora", Path.of(lora), model.config())));
                for (KvCacheDtype kv : kvDtypes) {
                    model.useKvCacheDtype(kv);
                    String kvLabel = KvCacheDtype.nameOf(model.kvCacheSpec(16).type());
                    for (int b : batches) {
                        for (int t : threads) {
                            Parallel.setThreads(t);
                            boolean[] loraRuns = lora == null ? new boolean[] {false} : new boolean[] {false, true};
                            for (boolean withLora : loraRuns) {
                                int[] adapters = withLora ? filled(b) : null;
                                Warmup.run(warmupSeconds, 1,
                                        () -> (long) timed(model, b, prompt, steps, adapters).bytesPerStep());
                                Run run = timed(model, b, prompt, steps, adapters);
                                double tps = run.tokensPerSecond(), kib = run.bytesPerStep() / 1024.0;
                                System.out.printf(Locale.ROOT, "%-6s %-8s %-5s %7d %8d %12.1f %12.2f %13.1f%n", label,
                                        kvLabel, withLora ? "yes" : "no", t, b, tps, 1000.0 * b / tps, kib);
                                most = Math.max(most, run.bytesPerStep());
                            }
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

    /** Every one of {@code batch} sequences with the model's first adapter. */
    private static int[] filled(int batch) {
        int[] adapters = new int[batch];
        java.util.Arrays.fill(adapters, 1);
        return adapters;
    }

    static <C extends KvCache> double measure(LanguageModel<C> model, int batch, int prompt, int steps) {
        return timed(model, batch, prompt, steps, null).tokensPerSecond();
    }

    /**
     * A timed run's decode throughput and the heap bytes allocated per timed step, by all threads: the
     * kernels allocate nothing once compiled, the loop below a few arrays of the batch's size, so
     * megabytes a step mean a kernel runs the Vector API's Java fallback (boxed lanes).
     */
    record Run(double tokensPerSecond, double bytesPerStep) {}

    /**
     * Prefills {@code batch} sequences, runs warm-up decode steps, then times {@code steps} more; each
     * sequence with the model's adapter {@code adapters[s]} (null: none).
     */
    static <C extends KvCache> Run timed(LanguageModel<C> model, int batch, int prompt, int steps,
            int[] adapters) {
        int blockSize = 16;
        int warmup = 4;
        int maxLen = prompt + warmup + steps;
        int blocksPerSeq = (maxLen + blockSize - 1) / blockSize;
        C cache = model.newKvCache(batch * blocksPerSeq, blockSize);
        int[][] tables = new int[batch][blocksPerSeq];
        // interleaved, never contiguous
        for (int s = 0; s < batch; s++) for (int i = 0; i < blocksPerSeq; i++) tables[s][i] = i * batch + s;
        int vocab = model.config().vocabSize();
        // Prefill all prompts in one step.
        List<Integer> tokens = new ArrayList<>(), positions = new ArrayList<>(), slots = new ArrayList<>();
        int[] qs = new int[batch + 1];
        for (int s = 0; s < batch; s++) {
            for (int p = 0; p < prompt; p++) {
                tokens.add(3 + (s * 31 + p * 7) % (vocab - 3));
                positions.add(p);
                slots.add(tables[s][p / blockSize] * blockSize + p % blockSize);
            }
            qs[s + 1] = qs[s] + prompt;
        }
        float[][] logits = model.forward(new ForwardBatch(ints(tokens), ints(positions), ints(slots), qs, tables, null,
                adapters), cache);
        int[] next = new int[batch];
        int[] decodeQs = new int[batch + 1];
        for (int s = 0; s <= batch; s++) decodeQs[s] = s;
        long start = 0, allocated = 0;
        for (int step = 0; step < warmup + steps; step++) {
            if (step == warmup) {
                allocated = HeapAllocations.total();
                start = System.nanoTime();
            }
            int pos = prompt + step;
            int[] pArr = new int[batch], sArr = new int[batch];
            for (int s = 0; s < batch; s++) {
                next[s] = argmax(logits[s]);
                pArr[s] = pos;
                sArr[s] = tables[s][pos / blockSize] * blockSize + pos % blockSize;
            }
            logits = model.forward(new ForwardBatch(next.clone(), pArr, sArr, decodeQs, tables, null, adapters), cache);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Run(batch * steps / seconds, (double) (HeapAllocations.total() - allocated) / steps);
    }

    static LanguageModel<?> load(String file) {
        try {
            return ModelLoader.load(Path.of(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model " + file, e);
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static int[] ints(List<Integer> l) { return l.stream().mapToInt(Integer::intValue).toArray(); }

}
