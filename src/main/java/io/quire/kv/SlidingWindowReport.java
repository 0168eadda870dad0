package io.quire.kv;

/**
 * What a sliding window does to the KV memory at one step boundary (part of {@link KvMemoryReport}).
 *
 * @param window           positions a sliding layer attends to
 * @param slidingLayers    layers that slide, of {@code numLayers}
 * @param numLayers        layers of the model
 * @param blocksFreed      blocks returned to the pool so far because they fell out of the window
 *                         (only when every layer slides)
 * @param slotsOutOfWindow over the running sequences, the stored token slots before each one's
 *                         window: the sliding layers never read them again
 * @param bytesOutOfWindow what those slots cost in the sliding layers alone: memory a cache that
 *                         kept sliding and global layers in separate block tables (vLLM's hybrid
 *                         allocator) would free; Quire's one table for all layers keeps it while
 *                         some layer is global
 */
public record SlidingWindowReport(int window, int slidingLayers, int numLayers, long blocksFreed,
                                  long slotsOutOfWindow, long bytesOutOfWindow) {}
