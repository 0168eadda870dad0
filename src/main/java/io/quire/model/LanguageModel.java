package io.quire.model;

import io.quire.backend.KvCache;
import io.quire.backend.cpu.PagedKvCache;
import io.quire.model.tokenizer.Tokenizer;

/**
 * A loaded model: its config, its tokenizer, and the batched forward pass (vLLM v1's model-runner
 * contract). Implementations are safe to call from one thread at a time.
 */
public interface LanguageModel extends AutoCloseable {

    ModelConfig config();

    Tokenizer tokenizer();

    /** A short name for logs and {@code /v1/models}. */
    String name();

    /**
     * Runs one step over a flat batch: writes the new tokens' K/V into their slots of {@code cache}
     * (one made by {@link #newKvCache})
     * and returns the logits of each sequence's last new token, {@code [numSeqs][vocabSize]}.
     */
    float[][] forward(ForwardBatch batch, KvCache cache);

    /** A KV cache for this model, on its device, with {@code numBlocks} blocks of {@code blockSize} tokens. */
    default KvCache newKvCache(int numBlocks, int blockSize) {
        ModelConfig c = config();
        return new PagedKvCache(c.numLayers(), numBlocks, blockSize, c.numKvHeads(), c.headDim());
    }

    /**
     * As {@link #newKvCache(int, int)}, with {@code numSwapBlocks} blocks of host-side swap space.
     * A model whose cache is not the CPU's {@link PagedKvCache} must override this to have swap space.
     */
    default KvCache newKvCache(int numBlocks, int blockSize, int numSwapBlocks) {
        if (numSwapBlocks == 0) return newKvCache(numBlocks, blockSize);
        if (!(newKvCache(1, blockSize) instanceof PagedKvCache)) { // a one-block probe of the cache kind
            throw new IllegalStateException(name() + " has no swap space support; set the swap space to 0");
        }
        ModelConfig c = config();
        return new PagedKvCache(c.numLayers(), numBlocks, blockSize, c.numKvHeads(), c.headDim(), numSwapBlocks);
    }

    /**
     * Bytes one KV block of {@code blockSize} tokens takes in this model's cache, over all layers,
     * K and V (FP32 on the CPU, 16-bit on a GPU): what the engine divides its KV budget and its
     * swap space by.
     */
    default long kvBytesPerBlock(int blockSize) {
        ModelConfig c = config();
        return PagedKvCache.bytesPerBlock(c.numLayers(), blockSize, c.numKvHeads(), c.headDim());
    }

    @Override
    default void close() {}
}
