package io.quire.engine;

import io.quire.model.ForwardBatch;

import java.time.Duration;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Forward passes of made-up sequences before the first request, so the JIT has compiled the kernels
 * by then. Until C2 compiles a Vector API kernel its Java fallback runs it: many times slower, with
 * a heap burst of boxed vectors, and summing in another order (a cold server's first greedy tokens
 * could differ from a warm one's: docs/performance.md). Each round prefills a few sequences together
 * (the tiled kernels), then decodes them at batch 4, 3 and 1 (every tile shape and the batch-1
 * kernels), until the time budget is spent. The prompts differ in length and most are not a multiple
 * of the vector length, so the part-filled attention tiles and the loops' tails run too: a branch C2
 * never saw taken is compiled as a trap, and the first real prompt that took it sent the kernel back
 * to the interpreter (about 300 MB of boxed vectors, and a grown heap, under the first requests).
 * It writes only free blocks of the cache, before any request owns one; what it leaves there is
 * overwritten before anything reads it.
 */
final class Warmup {
    private static final int MAX_SEQS = 4;
    private static final int MAX_PROMPT = 48;
    private static final int DECODE_STEPS = 9;
    /** How much shorter than the first each sequence's prompt is: 48, 47, 42 and 35 tokens. */
    private static final int[] SHORTER = {0, 1, 6, 13};

    private Warmup() {}

    /**
     * Rounds until {@code budget} is spent (at least one) through {@code forward} (the model on the
     * runner's cache of {@code numBlocks} blocks of {@code bs} tokens); returns the forward passes made.
     */
    static int run(Consumer<ForwardBatch> forward, int bs, int numBlocks, int vocab, int maxModelLen,
            Duration budget) {
        int prompt = Math.min(MAX_PROMPT, Math.max(1, maxModelLen - DECODE_STEPS));
        int len = Math.min(maxModelLen, prompt + DECODE_STEPS);
        int blocksPerSeq = (len + bs - 1) / bs;
        int seqs = Math.min(MAX_SEQS, numBlocks / blocksPerSeq);
        if (seqs == 0) return 0;
        int[][] tables = new int[seqs][blocksPerSeq];
        for (int s = 0; s < seqs; s++) {
            for (int b = 0; b < blocksPerSeq; b++) tables[s][b] = s * blocksPerSeq + b;
        }
        long end = System.nanoTime() + budget.toNanos();
        int passes = 0;
        do {
            passes += round(forward, bs, tables, prompt, len, vocab);
        } while (System.nanoTime() < end);
        return passes;
    }

    private static int round(Consumer<ForwardBatch> forward, int bs, int[][] tables, int prompt, int len, int vocab) {
        int seqs = tables.length;
        int[] pos = new int[seqs];
        int total = 0;
        for (int s = 0; s < seqs; s++) {
            pos[s] = Math.max(1, prompt - SHORTER[s]);
            total += pos[s];
        }
        int passes = 0;
        // Prefill: every sequence's prompt in one batch.
        int[] tokens = new int[total], positions = new int[total], slots = new int[total];
        int[] starts = new int[seqs + 1];
        for (int s = 0, t = 0; s < seqs; s++) {
            starts[s] = t;
            for (int p = 0; p < pos[s]; p++, t++) {
                tokens[t] = token(s, p, vocab);
                positions[t] = p;
                slots[t] = tables[s][p / bs] * bs + p % bs;
            }
        }
        starts[seqs] = total;
        forward.accept(new ForwardBatch(tokens, positions, slots, starts, tables));
        passes++;
        // Decode steps at batch 4, 3 and 1 in turn, each sequence at its own position.
        int[] widths = {seqs, Math.min(3, seqs), 1};
        for (int step = 0; step < len - prompt; step++) {
            int n = widths[step % widths.length];
            if (pos[0] >= len) break;  // sequence 0 is in every step, with the longest prompt the furthest along
            int[] tk = new int[n], ps = new int[n], sl = new int[n], st = new int[n + 1];
            for (int s = 0; s < n; s++) {
                tk[s] = token(s, pos[s], vocab);
                ps[s] = pos[s];
                sl[s] = tables[s][pos[s] / bs] * bs + pos[s] % bs;
                st[s + 1] = s + 1;
                pos[s]++;
            }
            forward.accept(new ForwardBatch(tk, ps, sl, st, Arrays.copyOf(tables, n)));
            passes++;
        }
        return passes;
    }

    /** Any valid id: the kernels' speed does not depend on which. */
    private static int token(int seq, int pos, int vocab) {
        return (int) ((31L * seq + 7L * pos + 1) % vocab);
    }
}
