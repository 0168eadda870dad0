package io.quire.kv;

/**
 * A model's sliding-window attention as the KV cache sees it: {@code slidingLayers} of its
 * {@code numLayers} layers attend only to their last {@code window} positions. When every layer
 * slides (Mistral) blocks out of the window can be freed; when local and global layers mix (Gemma)
 * the global layers still read every position, and one block table serves all layers, so nothing
 * is freed and the report shows what the local layers hold beyond their window.
 */
public record SlidingWindow(int window, int slidingLayers, int numLayers) {
    public static final SlidingWindow NONE = new SlidingWindow(0, 0, 1);

    public SlidingWindow {
        if (window < 0 || slidingLayers < 0 || numLayers <= 0 || slidingLayers > numLayers) {
            throw new IllegalArgumentException("bad sliding window: " + window + " over " + slidingLayers + " of "
                    + numLayers + " layers");
        }
        if (window == 0) slidingLayers = 0;
        if (slidingLayers == 0) window = 0;
    }

    public boolean isNone() { return window == 0; }

    /** Whether blocks out of the window may go back to the pool: every layer slides. */
    public boolean freesBlocks() { return window > 0 && slidingLayers == numLayers; }
}
