package io.quire.model;

import io.quire.backend.KvCache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Test driver for the model-runner contract without the engine: runs several sequences greedily
 * in flat batches, handing out KV blocks from a shuffled free list so block tables are never
 * contiguous, and prefilling prompts in chunks of a chosen size.
 */
final class SequenceRunner {
    private final KvCache cache;
    private final Function<ForwardBatch, float[][]> forward;
    private final List<Integer> freeBlocks = new ArrayList<>();

    SequenceRunner(LanguageModel<?> model, int numBlocks, int blockSize, long shuffleSeed) {
        Bound<?> bound = bind(model, numBlocks, blockSize);
        this.cache = bound.cache();
        this.forward = bound::forward;
        for (int b = 0; b < numBlocks; b++) freeBlocks.add(b);
        java.util.Collections.shuffle(freeBlocks, new java.util.Random(shuffleSeed));
    }

    private final class Seq {
        final int[] prompt;
        final int maxNew;
        final List<Integer> blocks = new ArrayList<>();
        final List<Integer> output = new ArrayList<>();
        int computed; // tokens whose K/V are in the cache

        Seq(int[] prompt, int maxNew) { this.prompt = prompt; this.maxNew = maxNew; }

        int tokenAt(int pos) { return pos < prompt.length ? prompt[pos] : output.get(pos - prompt.length); }
        int length() { return prompt.length + output.size(); }
        boolean done() { return output.size() >= maxNew; }
    }

    /** Greedy continuation of each prompt; prompts are prefilled at most {@code chunk} tokens per step. */
    List<int[]> generate(List<int[]> prompts, int maxNew, int chunk) {
        List<Seq> seqs = prompts.stream().map(p -> new Seq(p, maxNew)).toList();
        while (seqs.stream().anyMatch(s -> !s.done())) {
            List<Seq> active = seqs.stream().filter(s -> !s.done()).toList();
            List<Integer> tokens = new ArrayList<>(), positions = new ArrayList<>(), slots = new ArrayList<>();
            int[] queryStart = new int[active.size() + 1];
            int[][] tables = new int[active.size()][];
            for (int i = 0; i < active.size(); i++) {
                Seq s = active.get(i);
                int n = Math.min(chunk, s.length() - s.computed);
                for (int j = 0; j < n; j++) {
                    int pos = s.computed + j;
                    int blockSize = cache.blockSize();
                    while (s.blocks.size() <= pos / blockSize) s.blocks.add(freeBlocks.removeLast());
                    tokens.add(s.tokenAt(pos));
                    positions.add(pos);
                    slots.add(s.blocks.get(pos / blockSize) * blockSize + pos % blockSize);
                }
                queryStart[i + 1] = queryStart[i] + n;
                tables[i] = s.blocks.stream().mapToInt(Integer::intValue).toArray();
            }
            ForwardBatch batch = new ForwardBatch(toArray(tokens), toArray(positions), toArray(slots), queryStart,
                    tables);
            float[][] logits = forward.apply(batch);
            for (int i = 0; i < active.size(); i++) {
                Seq s = active.get(i);
                s.computed += queryStart[i + 1] - queryStart[i];
                // A sequence samples only once its whole prompt (and output so far) is in the cache.
                if (s.computed == s.length()) s.output.add(argmax(logits[i]));
            }
        }
        for (Seq s : seqs) freeBlocks.addAll(s.blocks);
        return seqs.stream().map(s -> s.output.stream().mapToInt(Integer::intValue).toArray()).toList();
    }

    int freeBlockCount() { return freeBlocks.size(); }

    /** Prefills {@code prompt} in chunks of {@code chunk} and returns the logits after its last token. */
    float[] lastLogits(int[] prompt, int chunk) {
        List<Integer> blocks = new ArrayList<>();
        float[] logits = null;
        int bs = cache.blockSize();
        for (int start = 0; start < prompt.length; start += chunk) {
            int n = Math.min(chunk, prompt.length - start);
            int[] tokens = new int[n], positions = new int[n], slots = new int[n];
            for (int j = 0; j < n; j++) {
                int pos = start + j;
                while (blocks.size() <= pos / bs) blocks.add(freeBlocks.removeLast());
                tokens[j] = prompt[pos];
                positions[j] = pos;
                slots[j] = blocks.get(pos / bs) * bs + pos % bs;
            }
            int[] table = blocks.stream().mapToInt(Integer::intValue).toArray();
            logits = forward.apply(new ForwardBatch(tokens, positions, slots, new int[] {0, n},
                    new int[][] {table}))[0];
        }
        freeBlocks.addAll(blocks);
        return logits;
    }

    /** A model with a cache of its own type, so the forward pass takes it without a cast. */
    private record Bound<C extends KvCache>(LanguageModel<C> model, C cache) {
        float[][] forward(ForwardBatch batch) { return model.forward(batch, cache); }
    }

    private static <C extends KvCache> Bound<C> bind(LanguageModel<C> model, int numBlocks, int blockSize) {
        return new Bound<>(model, model.newKvCache(numBlocks, blockSize));
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static int[] toArray(List<Integer> list) { return list.stream().mapToInt(Integer::intValue).toArray(); }

    static String str(int[] a) { return Arrays.toString(a); }
}
