package io.quire.backend.cpu;

import io.quire.backend.KvCache;
import io.quire.backend.KvCacheSpec;
import io.quire.backend.TensorType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * The physical KV cache on the CPU: for each layer one preallocated key segment and one value
 * segment holding {@code numBlocks} fixed-size blocks of F32, F16 or FP8 values (native byte order;
 * F16 halves the memory and the bytes a decode step reads, as llama.cpp's default cache; FP8, vLLM's
 * fp8 caches, halves them again, at 3 or 2 mantissa bits: {@link Fp8}). A block is
 * {@code [kvHead][offset][headDim]}: slot {@code s = block * blockSize + offset} holds one token's K
 * (or V), one head's rows of a block lie together, so attention, which works one KV head at a
 * time, reads each block as one contiguous run per head rather than a head-sized piece of every
 * token row (vLLM's cache is head-major within a block too). Which block belongs to which sequence
 * is decided elsewhere (the block tables); this class only stores.
 * An optional swap space is a second, separate set of segments of the same block shape, where the
 * blocks of preempted sequences wait ({@link #swapOut}, {@link #swapIn}).
 *
 * <p>The blocks live off the Java heap, in an automatic arena freed when the cache is unreachable. On
 * the heap, the pool (512 MB by default, live for the server's whole life) made G1 size the heap
 * around it: its free-ratio headroom grew with the pool, and each layer's array, an exact multiple of
 * a region, spilled into one more humongous region. Off the heap the pool costs its own size at
 * most: on Linux its pages are mapped lazily ({@link LazyMemory}), so blocks never written cost none.
 */
public final class PagedKvCache implements KvCache {
    private static final ThreadLocal<short[]> HALF_ROW = ThreadLocal.withInitial(() -> new short[256]);
    private static final ThreadLocal<byte[]> BYTE_ROW = ThreadLocal.withInitial(() -> new byte[256]);
    private final KvCacheSpec spec;
    private final int numLayers;
    private final int numBlocks;
    private final int blockSize;
    private final int numKvHeads;
    private final int headDim;
    private final boolean half;
    /** The FP8 format, or null for an F32 or F16 cache. */
    private final Fp8 fp8;
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    private final int numSwapBlocks;
    private final MemorySegment[] swapKeys;
    private final MemorySegment[] swapValues;

    /** A cache without swap space, of FP32 blocks of the given shape. */
    public PagedKvCache(int numLayers, int numBlocks, int blockSize, int numKvHeads, int headDim) {
        this(new KvCacheSpec(blockSize, numLayers, numKvHeads, headDim, TensorType.F32), numBlocks, 0);
    }

    /** @param numSwapBlocks blocks of swap space (0: none) */
    public PagedKvCache(KvCacheSpec spec, int numBlocks, int numSwapBlocks) {
        if (spec.type() != TensorType.F32 && spec.type() != TensorType.F16 && Fp8.of(spec.type()) == null) {
            throw new IllegalArgumentException("the CPU KV cache holds F32, F16, F8_E4M3 or F8_E5M2, not " + spec.type());
        }
        if (numBlocks <= 0) throw new IllegalArgumentException("numBlocks must be positive, got " + numBlocks);
        if (numSwapBlocks < 0) throw new IllegalArgumentException("numSwapBlocks must be >= 0, got " + numSwapBlocks);
        long perLayer = numBlocks * spec.valuesPerBlock();
        // Attention indexes a layer's floats with ints.
        if (perLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("KV cache of " + numBlocks
                    + " blocks is too large for one layer; lower the KV memory budget");
        }
        long swapPerLayer = numSwapBlocks * spec.valuesPerBlock();
        if (swapPerLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("swap space of " + numSwapBlocks
                    + " blocks is too large for one layer; lower the swap space");
        }
        this.spec = spec;
        this.numLayers = spec.numLayers();
        this.numBlocks = numBlocks;
        this.blockSize = spec.blockSize();
        this.numKvHeads = spec.numKvHeads();
        this.headDim = spec.headDim();
        this.half = spec.type() == TensorType.F16;
        this.fp8 = Fp8.of(spec.type());
        this.numSwapBlocks = numSwapBlocks;
        Arena arena = Arena.ofAuto();
        try {
            this.keys = segments(arena, perLayer);
            this.values = segments(arena, perLayer);
            this.swapKeys = segments(arena, swapPerLayer);
            this.swapValues = segments(arena, swapPerLayer);
        } catch (OutOfMemoryError e) {
            // Native segments count against -XX:MaxDirectMemorySize (by default the maximum heap size).
            long mib = 2L * numLayers * spec.type().bytesFor(perLayer + swapPerLayer) >> 20;
            throw new IllegalStateException("the KV cache and swap space (" + mib + " MiB) do not fit in the native"
                    + " memory this JVM allows (-XX:MaxDirectMemorySize, by default the maximum heap size): lower"
                    + " quire.kv-cache-memory or quire.swap-space, or raise -XX:MaxDirectMemorySize (" + e.getMessage()
                    + ")", e);
        }
    }

    private MemorySegment[] segments(Arena arena, long valuesPerLayer) {
        MemorySegment[] s = new MemorySegment[numLayers];
        for (int l = 0; l < numLayers; l++) {
            s[l] = LazyMemory.allocate(arena, spec.type().bytesFor(valuesPerLayer));
        }
        return s;
    }

    @Override public KvCacheSpec spec() { return spec; }
    @Override public int numBlocks() { return numBlocks; }
    public int numKvHeads() { return numKvHeads; }
    public int headDim() { return headDim; }
    public int kvDim() { return numKvHeads * headDim; }

    /**
     * Layer {@code layer}'s keys, {@code [block][kvHead][offset][headDim]} values of the spec's type in
     * native order. The segment stays valid while this cache is reachable.
     */
    public MemorySegment keys(int layer) { return keys[layer]; }

    /** Layer {@code layer}'s values, same layout as {@link #keys}. */
    public MemorySegment values(int layer) { return values[layer]; }

    /** A copy of layer {@code layer}'s keys in slot order, {@code [slot][kvHead][headDim]}, for checks and tests. */
    public float[] keysAsFloats(int layer) { return slotOrder(keys[layer]); }

    /** A copy of layer {@code layer}'s values in slot order, as {@link #keysAsFloats}. */
    public float[] valuesAsFloats(int layer) { return slotOrder(values[layer]); }

    /** Sets every slot of layer {@code layer} from slot-order copies (as {@link #keysAsFloats} gives), for checks. */
    public void writeLayer(int layer, float[] keysInSlotOrder, float[] valuesInSlotOrder) {
        int slots = numBlocks * blockSize;
        if (keysInSlotOrder.length != slots * kvDim() || valuesInSlotOrder.length != slots * kvDim()) {
            throw new IllegalArgumentException("a layer holds " + slots * kvDim() + " values, got "
                    + keysInSlotOrder.length + " and " + valuesInSlotOrder.length);
        }
        int[] every = new int[slots];
        for (int s = 0; s < slots; s++) every[s] = s;
        write(layer, every, keysInSlotOrder, valuesInSlotOrder, slots);
    }

    private float[] slotOrder(MemorySegment layer) {
        float[] out = new float[numBlocks * blockSize * kvDim()];
        for (int slot = 0; slot < numBlocks * blockSize; slot++) {
            for (int h = 0; h < numKvHeads; h++) {
                long at = offset(slot, h);
                int to = (slot * numKvHeads + h) * headDim;
                if (half) {
                    for (int d = 0; d < headDim; d++) {
                        out[to + d] = Float.float16ToFloat(layer.getAtIndex(ValueLayout.JAVA_SHORT, at + d));
                    }
                } else if (fp8 != null) {
                    for (int d = 0; d < headDim; d++) out[to + d] = fp8.decode(layer.get(ValueLayout.JAVA_BYTE, at + d));
                } else {
                    MemorySegment.copy(layer, ValueLayout.JAVA_FLOAT, 4L * at, out, to, headDim);
                }
            }
        }
        return out;
    }

    private byte[] byteRow() {
        byte[] row = BYTE_ROW.get();
        if (row.length < headDim) {
            row = new byte[headDim];
            BYTE_ROW.set(row);
        }
        return row;
    }

    private static short[] halfRow(int length) {
        short[] row = HALF_ROW.get();
        if (row.length < length) {
            row = new short[length];
            HALF_ROW.set(row);
        }
        return row;
    }

    /**
     * A value as F16, rounded to nearest even; values beyond F16's range (infinities included) are
     * clamped to its largest, 65504, rather than stored as infinities, which would turn a whole
     * softmax into NaN. NaN stays NaN.
     */
    static short toHalf(float x) {
        return Float.floatToFloat16(Math.max(-65504f, Math.min(65504f, x)));
    }

    /** Where head {@code h} of slot {@code slot} starts, in values (not bytes) from the layer's start. */
    private long offset(int slot, int h) {
        int block = slot / blockSize;
        return ((long) block * numKvHeads + h) * blockSize * headDim + (long) (slot % blockSize) * headDim;
    }

    /**
     * Writes the K and V of {@code numTokens} new tokens into their slots (vLLM's
     * reshape_and_cache): token {@code t}'s vectors, at {@code t * kvDim} in {@code k} and
     * {@code v}, go to slot {@code slotMapping[t]}. A negative slot means "do not store"; a slot past the
     * cache throws {@link IndexOutOfBoundsException} before anything is written.
     */
    public void write(int layer, int[] slotMapping, float[] k, float[] v, int numTokens) {
        for (int t = 0; t < numTokens; t++) {
            if (slotMapping[t] >= numBlocks * blockSize) {
                throw new IndexOutOfBoundsException("slot " + slotMapping[t] + " outside the cache of " + numBlocks
                        + " blocks");
            }
        }
        // A prompt's tokens split over the threads: on the calling thread alone a 500-token prompt's
        // writes were 3% of its two-thread prefill (the 86M model, F16 cache), the other thread waiting.
        long work = (long) numTokens * kvDim() * WRITE_OPERATIONS;
        if (Parallel.runsInline(work)) {
            write(layer, slotMapping, k, v, 0, numTokens);  // no lambda: a decode step allocates nothing here
        } else {
            Parallel.forRange(numTokens, work, (t0, t1) -> write(layer, slotMapping, k, v, t0, t1));
        }
        Reference.reachabilityFence(this);
    }

    /** Operations per value written, as {@link Parallel#forRange(int, long, Parallel.IntRangeBody)} counts work. */
    private static final int WRITE_OPERATIONS = 2;

    /** Tokens {@code t0..t1-1} of {@link #write(int, int[], float[], float[], int)}, their slots checked. */
    private void write(int layer, int[] slotMapping, float[] k, float[] v, int t0, int t1) {
        int kvDim = kvDim();
        long kc = keys[layer].address();
        long vc = values[layer].address();
        // F16: a token's whole K (then V) row converted at once (C2 vectorizes the loop: vcvtps2ph), then
        // stored head by head through vectors; per head, a 64-value conversion and MemorySegment.copy
        // took 6x as long (2 µs a token on the 86M model).
        short[] row = half ? halfRow(kvDim) : null;
        for (int t = t0; t < t1; t++) {
            int slot = slotMapping[t];
            if (slot < 0) continue;
            int from = t * kvDim;
            if (half) {
                toHalf(k, from, row, kvDim);
                storeHeads(row, kc, slot);
                toHalf(v, from, row, kvDim);
                storeHeads(row, vc, slot);
            } else if (fp8 != null) {
                byte[] bytes = byteRow();
                for (int h = 0; h < numKvHeads; h++) {
                    long at = offset(slot, h);
                    fp8.encode(k, from + h * headDim, bytes, 0, headDim);
                    MemorySegment.copy(bytes, 0, keys[layer], ValueLayout.JAVA_BYTE, at, headDim);
                    fp8.encode(v, from + h * headDim, bytes, 0, headDim);
                    MemorySegment.copy(bytes, 0, values[layer], ValueLayout.JAVA_BYTE, at, headDim);
                }
            } else {
                storeHeads(k, from, kc, slot);
                storeHeads(v, from, vc, slot);
            }
        }
    }

    /** Values {@code from..from+n-1} as F16 into out, as {@link #toHalf(float)} rounds each. */
    private static void toHalf(float[] x, int from, short[] out, int n) {
        for (int d = 0; d < n; d++) out[d] = Float.floatToFloat16(Math.max(-65504f, Math.min(65504f, x[from + d])));
    }

    /** One token's F16 row {@code [kvHead][headDim]} into its slot of the layer at {@code base}. */
    private void storeHeads(short[] row, long base, int slot) {
        int lanes = Simd.SW.length();
        for (int h = 0; h < numKvHeads; h++) {
            long to = base + 2 * offset(slot, h);
            int from = h * headDim, d = 0;
            for (; d <= headDim - lanes; d += lanes) {
                ShortVector.fromArray(Simd.SW, row, from + d).intoMemorySegment(Simd.ALL, to + 2L * d, ByteOrder.nativeOrder());
            }
            for (; d < headDim; d++) Simd.ALL.set(ValueLayout.JAVA_SHORT_UNALIGNED, to + 2L * d, row[from + d]);
        }
    }

    /** One token's F32 row, at {@code from} in x, into its slot of the layer at {@code base}. */
    private void storeHeads(float[] x, int from, long base, int slot) {
        int lanes = Simd.L;
        for (int h = 0; h < numKvHeads; h++) {
            long to = base + 4 * offset(slot, h);
            int at = from + h * headDim, d = 0;
            for (; d <= headDim - lanes; d += lanes) {
                FloatVector.fromArray(Simd.F, x, at + d).intoMemorySegment(Simd.ALL, to + 4L * d, ByteOrder.nativeOrder());
            }
            for (; d < headDim; d++) Simd.ALL.set(ValueLayout.JAVA_FLOAT_UNALIGNED, to + 4L * d, x[at + d]);
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

    private void move(int[] from, int fromCount, MemorySegment[] fk, MemorySegment[] fv,
                      int[] to, int toCount, MemorySegment[] tk, MemorySegment[] tv) {
        if (from.length != to.length) {
            throw new IllegalArgumentException("swap needs as many source as destination blocks");
        }
        long n = spec.bytesPerLayerBlock();
        for (int i = 0; i < from.length; i++) {
            if (from[i] < 0 || from[i] >= fromCount || to[i] < 0 || to[i] >= toCount) {
                throw new IllegalArgumentException("swap of block " + from[i] + " to " + to[i] + " outside the cache ("
                        + numBlocks + " blocks) or swap space (" + numSwapBlocks + ")");
            }
            for (int l = 0; l < numLayers; l++) {
                MemorySegment.copy(fk[l], from[i] * n, tk[l], to[i] * n, n);
                MemorySegment.copy(fv[l], from[i] * n, tv[l], to[i] * n, n);
            }
        }
    }

    @Override
    public void copyBlock(int src, int dst) {
        long n = spec.bytesPerLayerBlock();
        for (int l = 0; l < numLayers; l++) {
            MemorySegment.copy(keys[l], src * n, keys[l], dst * n, n);
            MemorySegment.copy(values[l], src * n, values[l], dst * n, n);
        }
    }
}
