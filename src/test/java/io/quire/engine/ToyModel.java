package io.quire.engine;

import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;
import io.quire.backend.cpu.PagedKvCache;
import io.quire.model.ForwardBatch;
import io.quire.model.KvCacheBudget;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.tokenizer.Tokenizer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * A model for engine tests that really uses the paged KV cache: each new token's K and V are its
 * id and position, written to its slot; the logits of a sequence's last token are a hash of the
 * whole token history read back through the block table (a stored position that does not match
 * fails the step). Any wrong slot, block table, lost block or chunk therefore changes the output.
 * {@link #reference} computes the same greedy continuation without any cache.
 */
final class ToyModel implements LanguageModel<PagedKvCache> {
    private final ModelConfig config;
    private final ToyTokenizer tokenizer;
    final List<int[]> steps = new ArrayList<>(); // {numSeqs, numTokens} of each forward call
    volatile Predicate<ForwardBatch> failWhen = b -> false;

    ToyModel(int vocabSize, int contextLength) {
        // dim 2, one head of size 2: K = (token, position).
        this.config = ModelConfig.llama(2, 1, 1, 1, 1, vocabSize, contextLength);
        this.tokenizer = new ToyTokenizer(vocabSize);
    }

    @Override public ModelConfig config() { return config; }
    @Override public Tokenizer tokenizer() { return tokenizer; }
    @Override public String name() { return "toy"; }
    @Override public String deviceDescription() { return "the CPU (toy)"; }

    @Override
    public KvCacheSpec kvCacheSpec(int blockSize) {
        return config.kvCacheSpec(blockSize, TensorType.F32);
    }

    @Override
    public int kvCacheBlocks(int blockSize, KvCacheBudget budget) {
        return budget.blocksInBytes(kvCacheSpec(blockSize));
    }

    @Override
    public PagedKvCache newKvCache(int numBlocks, int blockSize, int numSwapBlocks) {
        return new PagedKvCache(kvCacheSpec(blockSize), numBlocks, numSwapBlocks);
    }

    @Override
    public float[][] forward(ForwardBatch batch, PagedKvCache cache) {
        synchronized (steps) { steps.add(new int[]{batch.numSeqs(), batch.numTokens()}); }
        if (failWhen.test(batch)) throw new IllegalStateException("injected model failure");
        int n = batch.numTokens();
        float[] kv = new float[n * 2];
        for (int t = 0; t < n; t++) {
            kv[2 * t] = batch.tokens()[t];
            kv[2 * t + 1] = batch.positions()[t];
        }
        cache.write(0, batch.slotMapping(), kv, kv, n);
        MemorySegment keys = cache.keys(0);
        int bs = cache.blockSize();
        float[][] logits = new float[batch.numSeqs()][];
        for (int s = 0; s < batch.numSeqs(); s++) {
            int pos = batch.positions()[batch.lastTokenIndex(s)];
            int[] table = batch.blockTables()[s];
            long h = 17;
            for (int p = 0; p <= pos; p++) {
                int slot = table[p / bs] * bs + p % bs;
                float stored = keys.getAtIndex(ValueLayout.JAVA_FLOAT, slot * 2L + 1);
                if ((int) stored != p) {
                    throw new IllegalStateException("slot " + slot + " holds position " + stored + ", expected " + p);
                }
                h = mix(h, (int) keys.getAtIndex(ValueLayout.JAVA_FLOAT, slot * 2L));
            }
            logits[s] = logitsOf(h);
        }
        return logits;
    }

    private float[] logitsOf(long h) {
        float[] l = new float[config.vocabSize()];
        for (int i = 0; i < l.length; i++) l[i] = (float) ((mix(h, i) >>> 40) / (double) (1L << 24) * 10 - 5);
        return l;
    }

    /** The logits after the whole history {@code tokens}, computed without a cache. */
    float[] logitsAfter(int[] tokens) {
        long h = 17;
        for (int t : tokens) h = mix(h, t);
        return logitsOf(h);
    }

    /** Greedy continuation of {@code prompt}: up to {@code maxTokens}, ending early after EOS. */
    int[] reference(int[] prompt, int maxTokens) {
        int[] seq = Arrays.copyOf(prompt, prompt.length + maxTokens);
        int n = prompt.length;
        for (int i = 0; i < maxTokens; i++) {
            float[] l = logitsAfter(Arrays.copyOf(seq, n));
            int best = 0;
            for (int j = 1; j < l.length; j++) if (l[j] > l[best]) best = j;
            seq[n++] = best;
            if (best == ToyTokenizer.EOS) break;
        }
        return Arrays.copyOfRange(seq, prompt.length, n);
    }

    private static long mix(long h, long v) {
        long x = h * 0x9E3779B97F4A7C15L + v + 0x632BE59BD9B4E019L;
        x = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
        x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
        return x ^ (x >>> 31);
    }
}
