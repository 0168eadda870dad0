package io.quire.backend;

/**
 * The physical paged KV cache of one model on one device: {@code numBlocks} blocks of
 * {@code blockSize} token slots per layer. It only stores; which block belongs to which sequence
 * is decided by the block tables above it. Implementations: the CPU's {@code PagedKvCache} and
 * the GPU's {@code CudaKvCache}, each made by its model ({@code LanguageModel.newKvCache}).
 */
public interface KvCache {
    /** The block shape and type it was built from: the block size attention indexes with. */
    KvCacheSpec spec();

    int numBlocks();

    default int numLayers() { return spec().numLayers(); }

    default int blockSize() { return spec().blockSize(); }

    /** Copies block {@code src} to block {@code dst} in every layer (copy-on-write). */
    void copyBlock(int src, int dst);

    /**
     * Blocks of the host-side swap space, a memory region apart from the cache's own blocks where
     * preempted sequences' KV waits (vLLM's swap space); 0 when there is none.
     */
    default int numSwapBlocks() { return 0; }

    /** Copies cache blocks {@code deviceBlocks[i]} to swap blocks {@code hostBlocks[i]}, every layer. */
    default void swapOut(int[] deviceBlocks, int[] hostBlocks) {
        throw new UnsupportedOperationException("this KV cache has no swap space");
    }

    /** Copies swap blocks {@code hostBlocks[i]} back to cache blocks {@code deviceBlocks[i]}, every layer. */
    default void swapIn(int[] hostBlocks, int[] deviceBlocks) {
        throw new UnsupportedOperationException("this KV cache has no swap space");
    }
}
