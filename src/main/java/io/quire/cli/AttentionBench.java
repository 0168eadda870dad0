package io.quire.cli;

import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;
import io.quire.model.KvCacheDtype;
import io.quire.backend.cpu.PagedAttention;
import io.quire.backend.cpu.PagedKvCache;
import io.quire.backend.cpu.Parallel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Decode attention alone: {@code --seqs} sequences of {@code --context} positions each, one new token
 * per sequence, through {@link PagedAttention} over a paged cache whose blocks are shuffled (as a busy
 * pool hands them out), per KV cache type, block size and thread count. Shape of the 110M Llama's
 * attention (12 heads of 64) unless told otherwise; four layers of cache, attended in turn, so the
 * cache read is not one layer's that the last pass left in L3. The median of the timed passes is
 * reported with the bytes of K and V it read per second.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar target/quire-*.jar bench attention \
 *     [--seqs 32] [--context 512] [--kv-cache-dtype float32,float16,fp8_e4m3,fp8_e5m2] [--block-size 16] [--threads 1,2]</pre>
 */
public final class AttentionBench {
    private static final int LAYERS = 4;

    private AttentionBench() {}

    public static int run(String[] args) {
        Args a = new Args(args, 2);
        int seqs = Integer.parseInt(a.get("--seqs", "32"));
        int context = Integer.parseInt(a.get("--context", "512"));
        int heads = Integer.parseInt(a.get("--heads", "12"));
        int kvHeads = Integer.parseInt(a.get("--kv-heads", "12"));
        int headDim = Integer.parseInt(a.get("--head-dim", "64"));
        int repeats = Integer.parseInt(a.get("--repeats", "20"));
        List<TensorType> types = a.list("--kv-cache-dtype", "float32,float16").stream()
                .map(AttentionBench::cacheType).toList();
        List<Integer> blockSizes = a.ints("--block-size", "16");
        List<Integer> threads = a.ints("--threads", "1," + Runtime.getRuntime().availableProcessors());
        if (seqs < 1 || context < 1 || repeats < 1 || heads < 1 || kvHeads < 1 || headDim < 1 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("--seqs, --context, --repeats, --heads, --kv-heads and --head-dim must be"
                    + " positive, and --heads a multiple of --kv-heads");
        }
        System.out.printf(Locale.ROOT, "decode attention: %d sequences x %d positions, %d heads (%d KV) of %d, %d layers"
                + " attended in turn, median of %d passes%n", seqs, context, heads, kvHeads, headDim, LAYERS, repeats);
        System.out.printf(Locale.ROOT, "%-8s %6s %7s %12s %10s%n", "kv", "block", "threads", "ms/layer", "GB/s");
        for (int bs : blockSizes) {
            for (TensorType type : types) {
                for (int t : threads) {
                    Parallel.setThreads(t);
                    double ms = measure(type, bs, seqs, context, heads, kvHeads, headDim, repeats);
                    double bytes = 2.0 * seqs * context * kvHeads * headDim * type.bytesFor(1);
                    System.out.printf(Locale.ROOT, "%-8s %6d %7d %12.3f %10.1f%n",
                            KvCacheDtype.nameOf(type), bs, t, ms, bytes / ms / 1e6);
                }
            }
        }
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
        return 0;
    }

    private static TensorType cacheType(String name) {
        KvCacheDtype dtype = null;
        try {
            dtype = KvCacheDtype.parse(name);
        } catch (IllegalArgumentException e) {
            // refused below, naming this option rather than the server's setting
        }
        if (dtype == null || dtype == KvCacheDtype.AUTO) {
            throw new IllegalArgumentException("--kv-cache-dtype takes float32, float16, fp8 (fp8_e4m3) and fp8_e5m2, not "
                    + name.trim());
        }
        return dtype.typeFor(TensorType.F32);
    }

    /** Median milliseconds of one layer's decode attention for all sequences, after as many warm-up passes. */
    static double measure(TensorType type, int bs, int seqs, int context, int heads, int kvHeads, int headDim,
            int repeats) {
        int perSeq = (context + bs - 1) / bs;
        PagedKvCache cache = new PagedKvCache(new KvCacheSpec(bs, LAYERS, kvHeads, headDim, type), seqs * perSeq, 0);
        Random random = new Random(42);
        List<Integer> blocks = new ArrayList<>();
        for (int b = 0; b < seqs * perSeq; b++) blocks.add(b);
        Collections.shuffle(blocks, random);
        int[][] tables = new int[seqs][perSeq];
        for (int s = 0; s < seqs; s++) for (int b = 0; b < perSeq; b++) tables[s][b] = blocks.get(s * perSeq + b);
        int kvDim = kvHeads * headDim;
        float[] k = new float[context * kvDim], v = new float[k.length];
        int[] slots = new int[context];
        for (int l = 0; l < LAYERS; l++) {
            for (int s = 0; s < seqs; s++) {
                for (int i = 0; i < k.length; i++) {
                    k[i] = random.nextFloat() - 0.5f;
                    v[i] = random.nextFloat() - 0.5f;
                }
                for (int p = 0; p < context; p++) slots[p] = tables[s][p / bs] * bs + p % bs;
                cache.write(l, slots, k, v, context);
            }
        }
        float[] q = new float[seqs * heads * headDim], out = new float[q.length];
        for (int i = 0; i < q.length; i++) q[i] = random.nextFloat() - 0.5f;
        int[] positions = new int[seqs], tokenSeq = new int[seqs];
        for (int s = 0; s < seqs; s++) {
            positions[s] = context - 1;
            tokenSeq[s] = s;
        }
        float scale = (float) (1 / Math.sqrt(headDim));
        double[] ms = new double[repeats];
        for (int r = -repeats; r < repeats; r++) {
            long start = System.nanoTime();
            for (int l = 0; l < LAYERS; l++) {
                PagedAttention.attend(q, out, seqs, positions, tokenSeq, tables, cache, l, heads, scale);
            }
            if (r >= 0) ms[r] = (System.nanoTime() - start) / 1e6 / LAYERS;
        }
        Arrays.sort(ms);
        return ms[repeats / 2];
    }
}
