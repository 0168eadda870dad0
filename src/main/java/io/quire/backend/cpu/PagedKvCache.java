package io.quire.backend.cpu;

import io.quire.backend.KvCache;
import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;

/**
 * The physical KV cache on the CPU: for each layer one preallocated key array and one value
 * array holding {@code numBlocks} fixed-size blocks. Slot {@code s = block * blockSize + offset}
 * holds the K (or V) of one token for all KV heads, {@code [kvHead][headDim]}. Which block
 * belongs to which sequence is decided elsewhere (the block tables); this class only stores.
 * An optional swap space is a second, separate set of arrays of the same block shape, where the
 * blocks of preempted sequences wait ({@link #swapOut}, {@link #swapIn}).
 */
public final class PagedKvCache implements KvCache {
    private final KvCacheSpec spec;
    private final int numLayers;
    private final int numBlocks;
    private final int blockSize;
    private final int numKvHeads;
    private final int headDim;
    private final float[][] keys;
    private final float[][] values;
    private final int numSwapBlocks;
    private final float[][] swapKeys;
    private final float[][] swapValues;

    /** A cache without swap space, of FP32 blocks of the given shape. */
    public PagedKvCache(int numLayers, int numBlocks, int blockSize, int numKvHeads, int headDim) {
        this(new KvCacheSpec(blockSize, numLayers, numKvHeads, headDim, TensorType.F32), numBlocks, 0);
    }

    /** @param numSwapBlocks blocks of swap space (0: none) */
    public PagedKvCache(KvCacheSpec spec, int numBlocks, int numSwapBlocks) {
        if (spec.type() != TensorType.F32) {
            throw new IllegalArgumentException("the CPU KV cache holds F32, not " + spec.type());
        }
        if (numBlocks <= 0) throw new IllegalArgumentException("numBlocks must be positive, got " + numBlocks);
        if (numSwapBlocks < 0) throw new IllegalArgumentException("numSwapBlocks must be >= 0, got " + numSwapBlocks);
        long perLayer = numBlocks * spec.valuesPerBlock();
        if (perLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("KV cache of " + numBlocks
                    + " blocks is too large for one layer array; lower the KV memory budget");
        }
        long swapPerLayer = numSwapBlocks * spec.valuesPerBlock();
        if (swapPerLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("swap space of " + numSwapBlocks
                    + " blocks is too large for one layer array; lower the swap space");
        }
        this.spec = spec;
        this.numLayers = spec.numLayers();
        this.numBlocks = numBlocks;
        this.blockSize = spec.blockSize();
        this.numKvHeads = spec.numKvHeads();
        this.headDim = spec.headDim();
        this.numSwapBlocks = numSwapBlocks;
        this.swapKeys = new float[numLayers][(int) swapPerLayer];
        this.swapValues = new float[numLayers][(int) swapPerLayer];
        this.keys = new float[numLayers][(int) perLayer];
        this.values = new float[numLayers][(int) perLayer];
    }

    @Override public KvCacheSpec spec() { return spec; }
    @Override public int numBlocks() { return numBlocks; }
    public int numKvHeads() { return numKvHeads; }
    public int headDim() { return headDim; }
    public int kvDim() { return numKvHeads * headDim; }

    /** Layer {@code layer}'s keys, {@code [block][offset][kvHead][headDim]}. */
    public float[] keys(int layer) { return keys[layer]; }

    /** Layer {@code layer}'s values, same layout as {@link #keys}. */
    public float[] values(int layer) { return values[layer]; }

    /**
     * Writes the K and V of {@code numTokens} new tokens into their slots (vLLM's
     * reshape_and_cache): token {@code t}'s vectors, at {@code t * kvDim} in {@code k} and
     * {@code v}, go to slot {@code slotMapping[t]}. A negative slot means "do not store".
     */
    public void write(int layer, int[] slotMapping, float[] k, float[] v, int numTokens) {
        int kvDim = kvDim();
        float[] kc = keys[layer];
        float[] vc = values[layer];
        for (int t = 0; t < numTokens; t++) {
            int slot = slotMapping[t];
            if (slot < 0) continue;
            if (slot >= numBlocks * blockSize) {
                throw new IndexOutOfBoundsException("slot " + slot + " outside the cache of " + numBlocks + " blocks");
            }
            System.arraycopy(k, t * kvDim, kc, slot * kvDim, kvDim);
            System.arraycopy(v, t * kvDim, vc, slot * kvDim, kvDim);
        }
    }

    @Override public int numSwapBlocks() { return numSwapBlocks; }

    @Override
    public void swapOut(int[] deviceBlocks, int[] hostBlocks) {
        move(deviceBlocks, numBlocks, keys, values, hostBlocks, numSwapBlocks, swapKeys, swapValues);
    }

    @Override
    public void swapIn(int[] hostBlocks, int[] deviceBlocks) {
        move(hostBlocks, numSwapBlocks, swapKeys, swapValues, deviceBlocks, numBlocks, keys, values);
    }

    private void move(int[] from, int fromCount, float[][] fk, float[][] fv,
                      int[] to, int toCount, float[][] tk, float[][] tv) {
        if (from.length != to.length) {
            throw new IllegalArgumentException("swap needs as many source as destination blocks");
        }
        int n = blockSize * kvDim();
        for (int i = 0; i < from.length; i++) {
            if (from[i] < 0 || from[i] >= fromCount || to[i] < 0 || to[i] >= toCount) {
                throw new IllegalArgumentException("swap of block " + from[i] + " to " + to[i] + " outside the cache ("
                        + numBlocks + " blocks) or swap space (" + numSwapBlocks + ")");
            }
            for (int l = 0; l < numLayers; l++) {
                System.arraycopy(fk[l], from[i] * n, tk[l], to[i] * n, n);
                System.arraycopy(fv[l], from[i] * n, tv[l], to[i] * n, n);
            }
        }
    }

    @Override
    public void copyBlock(int src, int dst) {
        int n = blockSize * kvDim();
        for (int l = 0; l < numLayers; l++) {
            System.arraycopy(keys[l], src * n, keys[l], dst * n, n);
            System.arraycopy(values[l], src * n, values[l], dst * n, n);
        }
    }
}
