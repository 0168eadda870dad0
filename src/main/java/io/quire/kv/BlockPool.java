package io.quire.kv;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * A fixed number of KV-cache blocks, a free queue and per-block reference counts (vLLM v1's
 * {@code BlockPool}). Blocks are handed out from the front of the free queue and returned to its
 * back. The queue is a {@link LinkedHashSet} so that a later prefix cache can take a cached free
 * block out of its middle in O(1) and evict least-recently-freed blocks first. Not thread-safe:
 * only the engine thread touches it.
 */
public final class BlockPool {
    private final KVCacheBlock[] blocks;
    private final LinkedHashSet<KVCacheBlock> freeQueue = new LinkedHashSet<>();

    public BlockPool(int numBlocks) {
        if (numBlocks <= 0) throw new IllegalArgumentException("a block pool needs at least one block, got " + numBlocks);
        blocks = new KVCacheBlock[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            blocks[i] = new KVCacheBlock(i);
            freeQueue.add(blocks[i]);
        }
    }

    public int numTotalBlocks() { return blocks.length; }

    public int numFreeBlocks() { return freeQueue.size(); }

    /** Fraction of blocks in use, 0..1. */
    public double usage() { return 1.0 - (double) freeQueue.size() / blocks.length; }

    public KVCacheBlock block(int blockId) { return blocks[blockId]; }

    /** Takes {@code n} free blocks, each with reference count 1; fails if fewer are free. */
    public List<KVCacheBlock> allocate(int n) {
        if (n < 0) throw new IllegalArgumentException("cannot allocate " + n + " blocks");
        if (n > freeQueue.size()) throw new IllegalStateException("cannot allocate " + n + " blocks: only " + freeQueue.size() + " free");
        List<KVCacheBlock> out = new ArrayList<>(n);
        var it = freeQueue.iterator();
        for (int i = 0; i < n; i++) {
            KVCacheBlock b = it.next();
            it.remove();
            if (b.refCount() != 0) throw new IllegalStateException("free block with references: " + b);
            b.incrementRef();
            out.add(b);
        }
        return out;
    }

    /** Adds a reference to a block already in use (for sharing between sequences). */
    public void share(KVCacheBlock block) {
        if (block.refCount() == 0) throw new IllegalStateException("cannot share free block " + block);
        block.incrementRef();
    }

    /**
     * Drops one reference from each block; blocks reaching zero go back to the free queue.
     * Callers pass a sequence's blocks in reverse order (as vLLM does) so that its tail blocks,
     * the least likely to be shared by a prefix, are reused first.
     */
    public void free(Iterable<KVCacheBlock> toFree) {
        for (KVCacheBlock b : toFree) {
            b.decrementRef();
            if (b.refCount() == 0 && !freeQueue.add(b)) throw new IllegalStateException("block freed twice: " + b);
        }
    }
}
