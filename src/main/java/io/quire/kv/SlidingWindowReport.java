package io.quire.kv;

import java.util.List;

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
                                  long slotsOutOfWindow, long bytesOutOfWindow) {

    /** From the sequences' block tables (a null entry: a block the window freed, which holds nothing). */
    static SlidingWindowReport of(SlidingWindow w, long blocksFreed, List<KvMemoryReport.SequenceBlocks> seqs,
            int blockSize, long bytesPerBlock) {
        long slots = 0;
        for (KvMemoryReport.SequenceBlocks s : seqs) {
            int before = Math.max(0, s.numTokens() - w.window());
            for (int i = 0; i * blockSize < before && i < s.blocks().size(); i++) {
                if (s.blocks().get(i) != null) slots += Math.min(blockSize, before - i * blockSize);
            }
        }
        long bytes = slots * bytesPerBlock / blockSize * w.slidingLayers() / w.numLayers();
        return new SlidingWindowReport(w.window(), w.slidingLayers(), w.numLayers(), blocksFreed, slots, bytes);
    }
}
