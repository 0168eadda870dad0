package io.quire.model;

import java.util.List;

import io.quire.backend.KvCache;
import io.quire.backend.KvCacheSpec;
import io.quire.model.tokenizer.Tokenizer;

/**
 * A loaded model: its config, its tokenizer, its KV cache and the batched forward pass (vLLM v1's
 * model-runner contract). The model owns what depends on its device: what a KV block costs there,
 * how many blocks a budget buys, and the cache itself, of its own type {@code C}; the forward pass
 * takes that type, so no model has to check what it was handed. Callers that only schedule hold a
 * {@code LanguageModel<?>} and see the cache as {@link KvCache}. Implementations are safe to call
 * from one thread at a time.
 *
 * @param <C> the model's KV cache type (the CPU's {@code PagedKvCache}, the GPU's {@code CudaKvCache})
 */
public interface LanguageModel<C extends KvCache> extends AutoCloseable {

    ModelConfig config();

    Tokenizer tokenizer();

    /** A short name for logs and {@code /v1/models}. */
    String name();

    /** Where and in what type it computes, for the startup log: "8 CPU threads in float32", "the GPU in float16". */
    String deviceDescription();

    /**
     * Runs one step over a flat batch: writes the new tokens' K/V into their slots of {@code cache}
     * (one made by {@link #newKvCache}) and returns the logits of each sequence's last new token,
     * {@code [numSeqs][vocabSize]}. The caller may modify them; they are valid until the next call (a
     * model may reuse the arrays, so a step allocates nothing the size of the vocabulary).
     */
    float[][] forward(ForwardBatch batch, C cache);

    /**
     * Receives, during a forward pass, the logits of a new token of a sequence that asked for every
     * token's ({@link ForwardBatch#everyTokenLogits}), for prompt logprobs: one row at a time, valid only
     * during the call.
     */
    @FunctionalInterface
    interface TokenLogits {
        /** @param seq the sequence's index in the batch; @param token the token's index in the batch */
        void accept(int seq, int token, float[] logits);
    }

    /**
     * As {@link #forward(ForwardBatch, KvCache)}, and hands {@code sink} the logits of every new token
     * but the last of each sequence that asks for them (its last one's row is returned as ever), in
     * token order. Models that cannot say so by {@link #computesEveryTokenLogits}.
     */
    default float[][] forward(ForwardBatch batch, C cache, TokenLogits sink) {
        if (batch.everyTokenLogits() != null) {
            throw new UnsupportedOperationException(name() + " computes only each sequence's last logits");
        }
        return forward(batch, cache);
    }

    /** Whether {@link #forward(ForwardBatch, KvCache, TokenLogits)} gives every token's logits (prompt logprobs). */
    default boolean computesEveryTokenLogits() { return false; }

    /**
     * Receives, during a forward pass, each sequence's last new token's final hidden state: the
     * residual stream after the output norm, the vector the output matrix projects to logits (what
     * vLLM's last-token pooler takes for embeddings). {@code dim} floats from {@code offset}, valid
     * only during the call.
     */
    @FunctionalInterface
    interface HiddenStates {
        /** @param seq the sequence's index in the batch */
        void accept(int seq, float[] hidden, int offset);
    }

    /**
     * As {@link #forward(ForwardBatch, KvCache, TokenLogits)}, and hands {@code hidden} (null: none)
     * every sequence's last final hidden state before its logits are computed. Models that cannot
     * say so by {@link #computesHiddenStates}.
     */
    default float[][] forward(ForwardBatch batch, C cache, TokenLogits sink, HiddenStates hidden) {
        if (hidden != null) throw new UnsupportedOperationException(name() + " does not give its hidden states");
        return forward(batch, cache, sink);
    }

    /** Whether {@link #forward(ForwardBatch, KvCache, TokenLogits, HiddenStates)} gives hidden states (embeddings). */
    default boolean computesHiddenStates() { return false; }

    /**
     * Installs LoRA adapters loaded for this model ({@link LoraAdapter#load}), before the engine runs:
     * a batch's {@link ForwardBatch#adapters} numbers them from 1. Only the CPU model applies them;
     * elsewhere a non-empty list is refused.
     */
    default void useAdapters(List<LoraAdapter> adapters) {
        if (!adapters.isEmpty()) {
            throw new IllegalArgumentException("LoRA adapters (quire.lora-modules) run on the CPU backend only, not on "
                    + deviceDescription());
        }
    }

    /** The LoRA adapters installed ({@link #useAdapters}), in slot order from 1. */
    default List<LoraAdapter> adapters() { return List.of(); }

    /**
     * Sets the element type of the KV caches this model makes ({@code quire.kv-cache-dtype}), before
     * the engine sizes and builds its cache. Only the CPU backend has a choice; elsewhere anything
     * but {@link KvCacheDtype#AUTO} is refused.
     */
    default void useKvCacheDtype(KvCacheDtype dtype) {
        if (dtype != KvCacheDtype.AUTO) {
            throw new IllegalArgumentException("quire.kv-cache-dtype applies to the CPU backend; on this device the KV"
                    + " cache is in " + kvCacheSpec(16).type() + " (quire.dtype)");
        }
    }

    /** One KV block of {@code blockSize} tokens as this model's cache holds it: its shape, type and bytes. */
    KvCacheSpec kvCacheSpec(int blockSize);

    /** Bytes one KV block of {@code blockSize} tokens takes on this model's device (all layers, K and V). */
    default long kvBytesPerBlock(int blockSize) {
        return kvCacheSpec(blockSize).bytesPerBlock();
    }

    /** How many blocks of {@code blockSize} tokens {@code budget} buys on this model's device. */
    int kvCacheBlocks(int blockSize, KvCacheBudget budget);

    /**
     * Whether {@link #kvCacheBlocks} takes {@code budget}'s bytes (the CPU always, a GPU with no share
     * of its memory given) rather than a share of the device's memory: what the startup log says.
     */
    default boolean kvCacheTakesBytes(KvCacheBudget budget) {
        return true;
    }

    /**
     * A KV cache on this model's device: {@code numBlocks} blocks of {@link #kvCacheSpec}{@code (blockSize)},
     * and {@code numSwapBlocks} blocks of host-side swap space (0: none).
     */
    C newKvCache(int numBlocks, int blockSize, int numSwapBlocks);

    /** As {@link #newKvCache(int, int, int)} without swap space. */
    default C newKvCache(int numBlocks, int blockSize) {
        return newKvCache(numBlocks, blockSize, 0);
    }

    @Override
    default void close() {}

    /** The sampling defaults the model comes with (a Hugging Face folder's generation_config.json), or none. */
    default GenerationDefaults generationDefaults() { return GenerationDefaults.NONE; }
}
