package io.quire.kv;

/**
 * One physical KV-cache block as the pool tracks it (vLLM v1's {@code KVCacheBlock}). The
 * reference count is the number of sequences whose block table holds the block; it returns to
 * the free queue at zero. A full block may carry its {@link BlockHash} (prefix caching): it keeps
 * it while it sits in the free queue, so a later request with the same prefix can take it back,
 * and loses it only when the pool hands the block out for new data (eviction).
 */
public final class KvCacheBlock {
    private final int blockId;
    private int refCount;
    private BlockHash hash;

    KvCacheBlock(int blockId) {
        this.blockId = blockId;
    }

    public int blockId() { return blockId; }

    public int refCount() { return refCount; }

    /** The hash under which the block is cached, or null. */
    public BlockHash hash() { return hash; }

    void setHash(BlockHash hash) { this.hash = hash; }

    void incrementRef() { refCount++; }

    void decrementRef() {
        if (refCount <= 0) throw new IllegalStateException("block " + blockId + " freed more often than allocated");
        refCount--;
    }

    @Override
    public String toString() {
        return "KvCacheBlock[" + blockId + ", ref=" + refCount + (hash != null ? ", cached" : "") + "]";
    }
}
