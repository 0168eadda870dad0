package io.quire.kv;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which blocks hold each request's KV (vLLM v1's {@code KVCacheManager}): blocks are allocated
 * step by step as tokens are scheduled, kept in a per-request block table in logical order, and
 * all freed when the request finishes, is aborted or is preempted. Not thread-safe: only the
 * engine thread touches it.
 */
public final class KVCacheManager {
    private final BlockPool pool;
    private final int blockSize;
    private final Map<String, List<KVCacheBlock>> tables = new HashMap<>();

    public KVCacheManager(int numBlocks, int blockSize) {
        if (blockSize <= 0) throw new IllegalArgumentException("blockSize must be positive, got " + blockSize);
        this.pool = new BlockPool(numBlocks);
        this.blockSize = blockSize;
    }

    public int blockSize() { return blockSize; }

    public int numFreeBlocks() { return pool.numFreeBlocks(); }

    public int numTotalBlocks() { return pool.numTotalBlocks(); }

    /** Fraction of blocks in use, 0..1. */
    public double usage() { return pool.usage(); }

    /** Blocks needed to hold {@code numTokens} tokens. */
    public int blocksFor(int numTokens) { return (numTokens + blockSize - 1) / blockSize; }

    /**
     * Makes room for {@code numNewTokens} more tokens after the request's {@code numComputedTokens}
     * cached ones, allocating only the blocks it lacks. Returns false, allocating nothing, when the
     * pool has too few free blocks (the scheduler then preempts or waits).
     */
    public boolean allocateSlots(String requestId, int numComputedTokens, int numNewTokens) {
        if (numComputedTokens < 0 || numNewTokens < 0) throw new IllegalArgumentException("negative token count");
        List<KVCacheBlock> table = tables.get(requestId);
        int have = table == null ? 0 : table.size();
        int need = blocksFor(numComputedTokens + numNewTokens) - have;
        if (need <= 0) return true;
        if (need > pool.numFreeBlocks()) return false;
        if (table == null) tables.put(requestId, table = new ArrayList<>());
        table.addAll(pool.allocate(need));
        return true;
    }

    /** The request's physical block ids in logical order (empty if it holds none). */
    public int[] blockTable(String requestId) {
        List<KVCacheBlock> table = tables.get(requestId);
        if (table == null) return new int[0];
        int[] ids = new int[table.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = table.get(i).blockId();
        return ids;
    }

    public int numBlocks(String requestId) {
        List<KVCacheBlock> table = tables.get(requestId);
        return table == null ? 0 : table.size();
    }

    /**
     * Writes the KV slots of the request's tokens at positions {@code start..start+count-1} into
     * {@code out} from {@code outOffset}: {@code block * blockSize + position % blockSize}.
     */
    public void slotMapping(String requestId, int start, int count, int[] out, int outOffset) {
        List<KVCacheBlock> table = tables.get(requestId);
        for (int i = 0; i < count; i++) {
            int pos = start + i;
            int logical = pos / blockSize;
            if (table == null || logical >= table.size()) {
                throw new IllegalStateException("request " + requestId + " has no block for position " + pos);
            }
            out[outOffset + i] = table.get(logical).blockId() * blockSize + pos % blockSize;
        }
    }

    /** Frees all the request's blocks (finish, abort or preemption); a no-op if it holds none. */
    public void free(String requestId) {
        List<KVCacheBlock> table = tables.remove(requestId);
        if (table == null) return;
        pool.free(table.reversed());
    }

    /** Requests that currently hold blocks. */
    public int numRequests() { return tables.size(); }
}
