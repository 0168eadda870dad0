package io.quire.backend.cpu;

import io.quire.backend.TensorType;
import java.lang.ref.Reference;

/**
 * Attention that reads keys and values through block tables (vLLM's paged_attention): position j
 * of a sequence lives at slot {@code table[j / blockSize] * blockSize + j % blockSize}, so a
 * sequence's KV never needs to be contiguous. Causal: a token sees positions 0..its own, or with a
 * sliding window W only the last W of them ({@code pos-W+1..pos}, llama.cpp's standard SWA); block
 * table entries before the window are not read (they may be freed, -1).
 */
public final class PagedAttention {
    /** Units per thread that prompt tiles too few for the threads are split into, by ranges of KV heads (twice Parallel's chunks). */
    private static final int HEAD_SPLIT = 8;
    /**
     * The same for decode tokens, whose units read the cache itself: a unit that takes only some KV
     * heads reads a piece of each block and jumps to the next, which the prefetchers follow worse than
     * whole blocks (one sequence of 4,096 positions from memory, one thread: 1.6x slower in 8 pieces,
     * 1.4x in 2; `bench attention --seqs 1 --context 4096`). So one thread reads whole blocks, and more
     * threads get two units each.
     */
    private static final int DECODE_SPLIT = 2;
    private static final ThreadLocal<int[]> TILES = ThreadLocal.withInitial(() -> new int[256]);

    private PagedAttention() {}

    /**
     * For each token t and head h: {@code out[t][h] = softmax_j(scale * q[t][h]·K[j]) · V[j]} over
     * positions {@code j = 0..positions[t]} of sequence {@code tokenSeq[t]}, whose block table is
     * {@code blockTables[tokenSeq[t]]}. q and out are {@code [numTokens][numHeads * headDim]}; head h
     * reads KV head {@code h / (numHeads / numKvHeads)}.
     */
    public static void attend(float[] q, float[] out, int numTokens, int[] positions, int[] tokenSeq,
            int[][] blockTables, PagedKvCache cache, int layer, int numHeads, float scale) {
        attend(q, out, numTokens, positions, tokenSeq, blockTables, cache, layer, numHeads, scale, 0, 0f);
    }

    /**
     * As above, attending only to the last {@code window} positions when it is positive, and
     * soft-capping the scaled scores to {@code softcap * tanh(s / softcap)} when that is positive
     * (Gemma 2).
     */
    public static void attend(float[] q, float[] out, int numTokens, int[] positions, int[] tokenSeq,
            int[][] blockTables, PagedKvCache cache, int layer, int numHeads, float scale, int window, float softcap) {
        int headDim = cache.headDim();
        int numKvHeads = cache.numKvHeads();
        int bs = cache.blockSize();
        if (numHeads <= 0 || numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("numHeads " + numHeads + " must be a positive multiple of numKvHeads "
                    + numKvHeads);
        }
        if (layer < 0 || layer >= cache.numLayers()) throw new IllegalArgumentException("layer " + layer
                + " outside 0.." + (cache.numLayers() - 1));
        long qDim = (long) numHeads * headDim;
        if (q.length < numTokens * qDim || out.length < numTokens * qDim) {
            throw new IllegalArgumentException("q/out hold " + q.length + "/" + out.length + " floats, need "
                    + numTokens * qDim);
        }
        for (int t = 0; t < numTokens; t++) {
            int seq = tokenSeq[t];
            if (seq < 0 || seq >= blockTables.length || blockTables[seq] == null)
                throw new IllegalArgumentException("token " + t + " names sequence " + seq + " without a block table");
            int pos = positions[t];
            if (pos < 0) throw new IllegalArgumentException("token " + t + " has negative position " + pos);
            int[] table = blockTables[seq];
            if ((long) table.length * bs <= pos) {
                throw new IllegalArgumentException("token " + t + " at position " + pos + " needs " + (pos / bs + 1)
                        + " blocks, its sequence's table has " + table.length);
            }
            for (int j = first(pos, window) / bs; j <= pos / bs; j++) {
                if (table[j] < 0 || table[j] >= cache.numBlocks())
                    throw new IllegalArgumentException("block table of sequence " + seq + " names block " + table[j]
                            + " outside the cache of " + cache.numBlocks());
            }
        }
        // K and V are read by absolute address through Simd.ALL (as the weights are), which spares a
        // bounds and liveness check per load; the cache stays reachable to the end of this method.
        long keys = cache.keys(layer).address();
        long values = cache.values(layer).address();
        TensorType type = cache.spec().type();
        int group = numHeads / numKvHeads;
        int kvDim = numKvHeads * headDim;
        long work = 0;
        for (int t = 0; t < numTokens; t++) work += 2L * (positions[t] + 1 - first(positions[t], window)) * qDim;
        // One unit per (tile, range of KV heads). A tile of consecutive positions of one sequence (a
        // prompt chunk) whose rows (tokens x the group's query heads) fill half a vector to one goes
        // through AttentionTile, head by head; other tiles (decode tokens, groups wider than a vector)
        // token by token, each block's heads in turn (TokenAttention). The heads are split into as many
        // ranges as keep every thread busy when there are few tiles (one stream), and no more.
        int[] tiles = tiles(numTokens, positions, tokenSeq, group);
        int numTiles = tiles[numTokens + 1];
        int parts = parts(tiles, numTiles, group, Parallel.threads(), numKvHeads);
        // Prompt tiles from the last: a prompt's later tiles attend to more positions, so the costliest are
        // claimed first and the loop ends on cheap ones (in order, one thread waited on the other's last
        // tile: 7.3-7.8 ms of a 500-token two-thread prefill of the 86M model). Not with a window, where
        // the tiles cost alike and Widened keeps what it widened only going forward.
        boolean lastFirst = window <= 0;
        Parallel.forRange(numTiles * parts, work, (from, to) -> {
            for (int u = from; u < to; u++) {
                int tile = u / parts;
                int t0 = tiles[tile], t1 = tiles[tile + 1];
                if (isPromptTile((t1 - t0) * group)) continue;  // below
                int part = u % parts;
                int h0 = part * numKvHeads / parts, h1 = (part + 1) * numKvHeads / parts;
                for (int t = t0; t < t1; t++) {
                    TokenAttention.attend(q, out, t, h0, h1 - h0, positions, blockTables[tokenSeq[t]], numHeads,
                            group, headDim, bs, kvDim, keys, values, type, window, scale, softcap);
                }
            }
            // Prompt tiles head by head: the K and V rows a tile widens from a 16- or 8-bit cache hold what the
            // sequence's earlier tiles, next here, read for the same head (AttentionTile.Widened).
            AttentionTile.Widened widened = AttentionTile.widened();
            for (int part = 0; part < parts; part++) {
                int first = from + Math.floorMod(part - from, parts);  // the run's first unit of this part
                for (int kvHead = part * numKvHeads / parts; kvHead < (part + 1) * numKvHeads / parts; kvHead++) {
                    for (int u = first; u < to; u += parts) {
                        int tile = lastFirst ? numTiles - 1 - u / parts : u / parts;
                        int t0 = tiles[tile], t1 = tiles[tile + 1];
                        if (!isPromptTile((t1 - t0) * group)) continue;
                        AttentionTile.attend(q, out, (int) qDim, t0, t1 - t0, positions[t0], group, kvHead, headDim,
                                blockTables[tokenSeq[t0]], bs, kvDim, keys, values, type, window, scale, softcap,
                                widened);
                    }
                }
            }
        });
        Reference.reachabilityFence(cache);
    }

    /** Whether a tile of {@code rows} rows (tokens x the group's query heads) goes through {@link AttentionTile}. */
    private static boolean isPromptTile(int rows) {
        return rows >= AttentionTile.MIN_ROWS && rows <= AttentionTile.MAX_ROWS;
    }

    /** How many ranges of KV heads each tile is cut into, so that the threads have units enough to share. */
    static int parts(int[] tiles, int numTiles, int group, int threads, int numKvHeads) {
        boolean prompt = false;
        for (int i = 0; i < numTiles && !prompt; i++) {
            prompt = isPromptTile((tiles[i + 1] - tiles[i]) * group);
        }
        if (prompt) return Math.clamp(HEAD_SPLIT * threads / numTiles, 1, numKvHeads);
        if (threads == 1) return 1;
        return Math.clamp((DECODE_SPLIT * threads + numTiles - 1) / numTiles, 1, numKvHeads);
    }

    /**
     * Tile boundaries: tiles[i]..tiles[i+1] are the tokens of tile i, tiles[numTokens + 1] the tile
     * count. A run of consecutive positions of one sequence is cut into near-equal tiles of at most
     * {@link AttentionTile#MAX_ROWS} rows (one token where the group alone is wider), so no piece of a
     * long run is left with too few rows.
     */
    private static int[] tiles(int numTokens, int[] positions, int[] tokenSeq, int group) {
        int[] tiles = TILES.get();
        if (tiles.length < numTokens + 2) {
            tiles = new int[Math.max(numTokens + 2, tiles.length * 2)];
            TILES.set(tiles);
        }
        int maxTokens = Math.max(1, AttentionTile.MAX_ROWS / group);
        int count = 0;
        for (int t = 0; t < numTokens; ) {
            int runEnd = t + 1;
            while (runEnd < numTokens && tokenSeq[runEnd] == tokenSeq[t]
                    && positions[runEnd] == positions[runEnd - 1] + 1) {
                runEnd++;
            }
            int run = runEnd - t;
            int pieces = (run + maxTokens - 1) / maxTokens;
            for (int i = 0; i < pieces; i++) {
                tiles[count++] = t;
                t += run / pieces + (i < run % pieces ? 1 : 0);
            }
        }
        tiles[count] = numTokens;
        tiles[numTokens + 1] = count;
        return tiles;
    }

    /**
     * Where the K/V rows of positions {@code start..start+len-1} begin, in values from the layer's
     * start, for KV head {@code kvHead}: {@code rowOf[j]} for position start + j. A block holds each
     * KV head's rows together ({@link PagedKvCache}), so one head's rows in a block are contiguous.
     * Walks the block table block by block (no divisions); the window may start inside a block.
     */
    static void rowOffsets(int[] table, int start, int len, int bs, int kvDim, int kvHead, int headDim, int[] rowOf) {
        for (int p = start, blk = start / bs; p < start + len; blk++) {
            int o0 = p % bs;
            int base = table[blk] * bs * kvDim + kvHead * bs * headDim;
            int n = Math.min(bs - o0, start + len - p);
            for (int o = 0; o < n; o++) rowOf[p - start + o] = base + (o0 + o) * headDim;
            p += n;
        }
    }

    /** The first position a token at {@code pos} attends to. */
    static int first(int pos, int window) {
        return window > 0 ? Math.max(0, pos - window + 1) : 0;
    }
}
