package io.quire.backend;

/**
 * The shape and element type of one KV-cache block (vLLM v1's {@code KVCacheSpec}): every
 * layer's K and V for {@code blockSize} tokens of {@code numKvHeads} heads of {@code headDim}
 * values in {@code type}. A cache is built from one and reports it back, so the block size the
 * block tables are cut in and the one the attention kernels index with are the same number, and
 * what a block costs is computed here only.
 *
 * @param type the cache's element type: F32, F16, F8_E4M3 or F8_E5M2 on the CPU, F16 or BF16 on a GPU
 */
public record KvCacheSpec(int blockSize, int numLayers, int numKvHeads, int headDim, TensorType type) {

    public KvCacheSpec {
        if (blockSize <= 0 || numLayers <= 0 || numKvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("KV cache dimensions must be positive: block size " + blockSize
                    + ", layers " + numLayers + ", KV heads " + numKvHeads + ", head dim " + headDim);
        }
        if (type == null || type.blockSize() != 1) {
            throw new IllegalArgumentException("a KV cache holds a plain (unquantized) type, got " + type);
        }
    }

    /** Values of one token in one layer, K or V: {@code numKvHeads * headDim}. */
    public int kvDim() { return numKvHeads * headDim; }

    /** Values of one block in one layer, K or V. */
    public long valuesPerBlock() { return (long) blockSize * kvDim(); }

    /** Bytes of one block's K (or V) in one layer. */
    public long bytesPerLayerBlock() { return type.bytesFor(valuesPerBlock()); }

    /** Bytes one block takes over all layers, K and V: what a KV memory budget is divided by. */
    public long bytesPerBlock() { return 2L * numLayers * bytesPerLayerBlock(); }

    /** Whole blocks that fit in {@code bytes} (0 for less than one). */
    public int blocksIn(long bytes) {
        return (int) Math.min(Math.max(bytes, 0) / bytesPerBlock(), Integer.MAX_VALUE);
    }
}
