package io.quire.backend;

/**
 * The physical paged KV cache of one model on one device: {@code numBlocks} blocks of
 * {@code blockSize} token slots per layer. It only stores; which block belongs to which sequence
 * is decided by the block tables above it. Implementations: the CPU's
 * {@link io.quire.backend.cpu.PagedKvCache}, and device memory on a GPU.
 */
public interface KvCache {
    int numLayers();

    int numBlocks();

    int blockSize();

    /** Copies block {@code src} to block {@code dst} in every layer (copy-on-write). */
    void copyBlock(int src, int dst);
}
