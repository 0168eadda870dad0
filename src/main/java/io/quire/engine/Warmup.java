package io.quire.engine;

import io.quire.model.ForwardBatch;

import java.time.Duration;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Forward passes of made-up sequences before the first request, so the JIT has compiled the kernels
 * by then. Until C2 compiles a Vector API kernel its Java fallback runs it: many times slower, with
 * a heap burst of boxed vectors, and summing in another order (a cold server's first greedy tokens
 * could differ from a warm one's: docs/performance.md). Each round prefills its sequences in two
 * passes (the tiled kernels), then decodes them at one batch width per step ({@link #WIDTHS}): every
 * panel shape of the batched products (BatchTile, NarrowPanels), their dot products (F32Rows,
 * TileDots) and the batch-1 kernels. The prompts
 * differ in length and most are not a multiple of the vector length, so the part-filled attention
 * tiles and the loops' tails run too. A branch C2 never saw taken is compiled as a trap, and the
 * first real batch that takes it sends the code back to C1's profiling tier, where the kernels box
 * every vector: with decode widths of 4, 3 and 1 only, the first 32-stream burst on stories260K spent
 * seconds there and allocated about 280 MB of boxed vectors (docs/performance.md).
 * With LoRA adapters, every other sequence runs with one of them, so their updates are compiled too
 * (one row at a time and, at the wider steps, in parallel passes). Rounds after the first repeat one
 * narrow step ({@link #REPEATS}), so the methods called once per layer reach C2 sooner.
 * It writes only free blocks of the cache, before any request owns one; what it leaves there is
 * overwritten before anything reads it.
 */
final class Warmup {
    /** Sequences with long prompts: the prefill's attention tiles, and the decode at longer contexts. */
    private static final int LONG_SEQS = 4;
    private static final int MAX_PROMPT = 48;
    /** How much shorter than the first each long sequence's prompt is: 48, 47, 42 and 35 tokens. */
    private static final int[] SHORTER = {0, 1, 6, 13};
    /**
     * The decode steps' batch widths, sequence 0 in every one. With 16 lanes: 36 and 20 vectors take
     * 8-lane panels where those apply (5 and 3 panels: pairs and one left over), 32 two full 16-lane
     * panels, 12 and 9 one part-filled (12: the panel of column pairs of Q4_0 and the K-quants); 4, 3 and 2
     * one 8-lane panel; 1 the batch-1 kernels. With 8 lanes they make 5, 4, 3, 2 and 1 panels. Those are
     * the outer products' shapes; the dot products that take F32 batches up to 32 and quantized ones from
     * their row-by-row limit to 20 (with 16 lanes; those of 12-16 in column pairs excepted) run as pairs of
     * vectors and, at the odd widths, one left over. Widths past the sequences the cache holds are cut to
     * what it holds.
     */
    private static final int[] WIDTHS = {36, 32, 20, 12, 9, 4, 3, 2, 1};
    private static final int DECODE_STEPS = WIDTHS.length;
    /**
     * How many times the rounds after the first run their step of {@link #REPEATED_WIDTH} sequences again.
     * C2 compiles a method once it was called about 5,000 times (fewer with loops in it); the per-layer ones
     * get a dozen calls or so per pass, and with a round's 11 passes alone the activations' quantization
     * (`Q8K.locals`) was still in C1's profiling code after the warm-up, where the Vector API boxes every
     * vector (docs/performance.md, thirtieth session). A step costs milliseconds on a small model; not in
     * the first round, which runs while the JIT is still compiling.
     */
    private static final int REPEATS = 20;
    private static final int REPEATED_WIDTH = 4;
    /** The other sequences' prompt: one token each, so they add little to the prefill. */
    private static final int SHORT_PROMPT = 1;

    private Warmup() {}

    /**
     * One round, then more until {@code budget} is spent after it, through {@code forward} (the model on the
     * runner's cache of {@code numBlocks} blocks of {@code bs} tokens, with {@code adapters} LoRA
     * adapters); returns the forward passes made.
     */
    static int run(Consumer<ForwardBatch> forward, int bs, int numBlocks, int vocab, int maxModelLen,
            Duration budget, int adapters) {
        int prompt = Math.min(MAX_PROMPT, Math.max(1, maxModelLen - DECODE_STEPS));
        int len = Math.min(maxModelLen, prompt + DECODE_STEPS);
        int longBlocks = (len + bs - 1) / bs;
        int longSeqs = Math.min(LONG_SEQS, numBlocks / longBlocks);
        if (longSeqs == 0) return 0;
        int shortPrompt = Math.min(SHORT_PROMPT, prompt);
        int shortBlocks = (Math.min(len, shortPrompt + DECODE_STEPS) + bs - 1) / bs;
        int shortSeqs = longSeqs < LONG_SEQS ? 0
                : Math.min(WIDTHS[0] - LONG_SEQS, (numBlocks - longSeqs * longBlocks) / shortBlocks);
        int seqs = longSeqs + shortSeqs;
        int[][] tables = new int[seqs][];
        int[] prompts = new int[seqs];
        for (int s = 0, next = 0; s < seqs; s++) {
            tables[s] = new int[s < longSeqs ? longBlocks : shortBlocks];
            for (int b = 0; b < tables[s].length; b++) tables[s][b] = next++;
            prompts[s] = s < longSeqs ? Math.max(1, prompt - SHORTER[s]) : shortPrompt;
        }
        // The budget starts after the first round: that one runs while the JIT compiles (seconds on an 86M
        // model, more than the default 2 s), and a budget spent in it left the per-layer methods uncompiled.
        int passes = round(forward, bs, tables, prompts, len, vocab, adapters, 0);
        long end = System.nanoTime() + budget.toNanos();
        while (System.nanoTime() < end) {
            passes += round(forward, bs, tables, prompts, len, vocab, adapters, REPEATS);
        }
        return passes;
    }

    private static int round(Consumer<ForwardBatch> forward, int bs, int[][] tables, int[] prompts, int len,
            int vocab, int adapters, int repeats) {
        int seqs = tables.length;
        int longSeqs = Math.min(LONG_SEQS, seqs);
        // Prefill in two passes. The first: the long prompts but the last one's last tokens, cut so that it
        // fills an even number of panels of 16 and of 8 vectors, as the parts of a long prompt do (odd
        // counts come with the second pass and the decode widths). The second: the rest of that prompt
        // (a prompt continued over a cached part, as in chunked prefill) and the short prompts.
        int longTotal = Arrays.stream(prompts, 0, longSeqs).sum();
        int cut = longTotal % 32 < prompts[longSeqs - 1] ? longTotal % 32 : 0;
        int[] from = new int[seqs], to = prompts.clone();
        to[longSeqs - 1] -= cut;
        for (int s = longSeqs; s < seqs; s++) to[s] = 0;
        forward.accept(batch(bs, tables, from, to, vocab, adapters));
        int passes = 1;
        from = to;
        to = prompts.clone();
        if (!Arrays.equals(from, to)) {
            forward.accept(batch(bs, tables, from, to, vocab, adapters));
            passes++;
        }
        // Decode steps at each width in turn, each sequence at its own position.
        int[] pos = prompts.clone();
        for (int step = 0; step < DECODE_STEPS; step++) {
            int n = Math.min(WIDTHS[step], seqs);
            if (pos[0] >= len) break;  // sequence 0 is in every step, with the longest prompt the furthest along
            int[] next = pos.clone();
            for (int s = 0; s < n; s++) next[s]++;
            forward.accept(batch(bs, Arrays.copyOf(tables, n), pos, next, vocab, adapters));
            passes++;
            if (WIDTHS[step] == REPEATED_WIDTH) {
                // Again at the same positions (their KV slots rewritten): cheap passes that add to the
                // per-layer calls C2 waits for before it compiles a method.
                for (int i = 0; i < repeats; i++, passes++) {
                    forward.accept(batch(bs, Arrays.copyOf(tables, n), pos, next, vocab, adapters));
                }
            }
            pos = next;
        }
        return passes;
    }

    /**
     * One forward pass: the tokens of sequence s at positions {@code from[s] .. to[s]-1}, for the
     * sequences of {@code tables} that have any; their KV goes to their own blocks.
     */
    private static ForwardBatch batch(int bs, int[][] tables, int[] from, int[] to, int vocab, int adapters) {
        int seqs = 0, total = 0;
        for (int s = 0; s < tables.length; s++) {
            if (to[s] > from[s]) {
                seqs++;
                total += to[s] - from[s];
            }
        }
        int[] tokens = new int[total], positions = new int[total], slots = new int[total];
        int[] starts = new int[seqs + 1];
        int[][] own = new int[seqs][];
        int[] adapterOf = adapters == 0 ? null : new int[seqs];
        for (int s = 0, i = 0, t = 0; s < tables.length; s++) {
            if (to[s] <= from[s]) continue;
            if (adapterOf != null) adapterOf[i] = s % 2 == 0 ? 0 : 1 + s / 2 % adapters;
            own[i] = tables[s];
            starts[i++] = t;
            for (int p = from[s]; p < to[s]; p++, t++) {
                tokens[t] = token(s, p, vocab);
                positions[t] = p;
                slots[t] = tables[s][p / bs] * bs + p % bs;
            }
        }
        starts[seqs] = total;
        return new ForwardBatch(tokens, positions, slots, starts, own, null, adapterOf);
    }

    /** Any valid id: the kernels' speed does not depend on which. */
    private static int token(int seq, int pos, int vocab) {
        return (int) ((31L * seq + 7L * pos + 1) % vocab);
    }
}
