package io.quire.kv;

/**
 * One physical KV-cache block as the pool tracks it (vLLM v1's {@code KVCacheBlock}). The
 * reference count is the number of sequences whose block table holds the block; it returns to
 * the free queue at zero. A block hash for prefix caching would live here too (not built yet).
 */
public final class KVCacheBlock {
    private final int blockId;
    private int refCount;

    KVCacheBlock(int blockId) {
        this.blockId = blockId;
    }

    public int blockId() { return blockId; }

    public int refCount() { return refCount; }

    void incrementRef() { refCount++; }

    void decrementRef() {
        if (refCount <= 0) throw new IllegalStateException("block " + blockId + " freed more often than allocated");
        refCount--;
    }

    @Override
    public String toString() { return "KVCacheBlock[" + blockId + ", ref=" + refCount + "]"; }
}
