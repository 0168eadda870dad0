package io.quire.kv;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * A fixed number of KV-cache blocks, a free queue and per-block reference counts (vLLM v1's
 * {@code BlockPool}). Blocks are handed out from the front of the free queue and returned to its
 * back. The queue is a {@link LinkedHashSet} so that the prefix cache can take a cached free
 * block out of its middle in O(1) and evict least-recently-freed blocks first: a freed block keeps
 * its hash (and stays findable in {@link #cached}) until {@link #allocate} hands it out again.
 * A freed block without a hash (a sequence's partial last block; every block when prefix caching is
 * off) holds nothing anyone can find, so it is handed out again first, most recently freed first:
 * on the CPU the cache's pages take memory only once written (LazyMemory), and reusing written
 * blocks before fresh ones spares page faults (a fresh 500-token prompt spent 4% of its prefill
 * clearing new pages) and keeps the server's resident memory at what its sequences use at once.
 * Not thread-safe: only the engine thread touches it.
 */
public final class BlockPool {
    private final KvCacheBlock[] blocks;
    private final LinkedHashSet<KvCacheBlock> freeQueue = new LinkedHashSet<>();
    /** Freed blocks without a hash, most recently freed last: taken before {@link #freeQueue}. */
    private final ArrayDeque<KvCacheBlock> reusable = new ArrayDeque<>();
    private final Map<BlockHash, KvCacheBlock> cached = new HashMap<>();
    private long numEvictions;

    public BlockPool(int numBlocks) {
        if (numBlocks <= 0) {
            throw new IllegalArgumentException("a block pool needs at least one block, got " + numBlocks);
        }
        blocks = new KvCacheBlock[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            blocks[i] = new KvCacheBlock(i);
            freeQueue.add(blocks[i]);
        }
    }

    public int numTotalBlocks() { return blocks.length; }

    public int numFreeBlocks() { return freeQueue.size() + reusable.size(); }

    /** Fraction of blocks in use, 0..1. */
    public double usage() { return 1.0 - (double) numFreeBlocks() / blocks.length; }

    public KvCacheBlock block(int blockId) { return blocks[blockId]; }

    /** Takes {@code n} free blocks, each with reference count 1; fails if fewer are free. */
    public List<KvCacheBlock> allocate(int n) {
        if (n < 0) throw new IllegalArgumentException("cannot allocate " + n + " blocks");
        if (n > numFreeBlocks()) {
            throw new IllegalStateException("cannot allocate " + n + " blocks: only " + numFreeBlocks() + " free");
        }
        List<KvCacheBlock> out = new ArrayList<>(n);
        var it = freeQueue.iterator();
        for (int i = 0; i < n; i++) {
            KvCacheBlock b = reusable.pollLast();
            if (b == null) {
                b = it.next();
                it.remove();
            }
            if (b.refCount() != 0) throw new IllegalStateException("free block with references: " + b);
            evict(b);
            b.incrementRef();
            out.add(b);
        }
        return out;
    }

    private void evict(KvCacheBlock b) {
        if (b.hash() == null) return;
        if (cached.get(b.hash()) == b) cached.remove(b.hash());
        b.setHash(null);
        numEvictions++;
    }

    /** The cached block with exactly this content, or null. */
    public KvCacheBlock cachedBlock(BlockHash hash) {
        KvCacheBlock b = cached.get(hash);
        return b != null && b.hash().sameContent(hash) ? b : null;
    }

    /**
     * Registers a full block under its hash; false (and nothing changes) when another block
     * already holds the same content or this one is already cached.
     */
    public boolean cache(KvCacheBlock block, BlockHash hash) {
        if (block.hash() != null || block.refCount() == 0 || cached.containsKey(hash)) return false;
        block.setHash(hash);
        cached.put(hash, block);
        return true;
    }

    /** Takes a reference to a cached block, out of the free queue if nobody held it (a prefix-cache hit). */
    public void touch(KvCacheBlock block) {
        if (block.refCount() == 0 && !freeQueue.remove(block)) {
            throw new IllegalStateException("unreferenced block not in the free queue: " + block);
        }
        block.incrementRef();
    }

    /** Blocks findable by hash (in use or free). */
    public int numCachedBlocks() { return cached.size(); }

    /** The ids of the blocks findable by hash (in use or free), for a report's block map. */
    public BitSet hashedBlocks() {
        BitSet out = new BitSet(blocks.length);
        for (KvCacheBlock b : cached.values()) out.set(b.blockId());
        return out;
    }

    /** Cached blocks whose hash was dropped to reuse them. */
    public long numEvictions() { return numEvictions; }

    /** Adds a reference to a block already in use (for sharing between sequences). */
    public void share(KvCacheBlock block) {
        if (block.refCount() == 0) throw new IllegalStateException("cannot share free block " + block);
        block.incrementRef();
    }

    /**
     * Drops one reference from each block; blocks reaching zero go back to the free queue.
     * Callers pass a sequence's blocks in reverse order (as vLLM does) so that its tail blocks,
     * the least likely to be shared by a prefix, are reused first.
     */
    public void free(Iterable<KvCacheBlock> toFree) {
        for (KvCacheBlock b : toFree) {
            b.decrementRef();
            if (b.refCount() != 0) continue;
            // decrementRef refuses a block already free, so neither list can hold it twice
            if (b.hash() == null) reusable.addLast(b);
            else if (!freeQueue.add(b)) throw new IllegalStateException("block freed twice: " + b);
        }
    }
}
