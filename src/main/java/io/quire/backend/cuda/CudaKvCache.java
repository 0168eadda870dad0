package io.quire.backend.cuda;

import io.quire.backend.KvCache;
import io.quire.backend.KvCacheSpec;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The paged KV cache in device memory, FP16 or BF16 ({@link CudaDtype}): for each layer keys and values of
 * {@code [block][offset][kvHead][headDim]} (the CPU {@code PagedKvCache}'s layout), all layers' keys in one
 * allocation and all values in another. Optional swap space is pinned host memory of the same block shape,
 * for preempted sequences (vLLM's swap_blocks).
 */
public final class CudaKvCache implements KvCache, AutoCloseable {
    private final CudaDevice device;
    private final KvCacheSpec spec;
    private final CudaDtype dtype;
    private final int numLayers;
    private final int numBlocks;
    private final int numSwapBlocks;
    private final DeviceBuffer keys;
    private final DeviceBuffer values;
    private final PinnedBuffer swapKeys;
    private final PinnedBuffer swapValues;
    private DeviceBuffer mapping;

    /** {@code numBlocks} blocks of {@code spec} (F16 or BF16) on {@code device}, {@code numSwapBlocks} pinned. */
    public CudaKvCache(CudaDevice device, KvCacheSpec spec, int numBlocks, int numSwapBlocks) {
        if (numBlocks <= 0 || numSwapBlocks < 0) {
            throw new IllegalArgumentException("a KV cache needs blocks: " + numBlocks + " blocks, "
                    + numSwapBlocks + " swap blocks");
        }
        // The kernels move K/V as pairs of 16-bit values.
        if (spec.valuesPerBlock() % 2 != 0) {
            throw new IllegalArgumentException("a KV block must hold an even number of values");
        }
        this.device = device;
        this.spec = spec;
        this.dtype = CudaDtype.of(spec.type());
        this.numLayers = spec.numLayers();
        this.numBlocks = numBlocks;
        this.numSwapBlocks = numSwapBlocks;
        long bytes = (long) numLayers * numBlocks * spec.bytesPerLayerBlock();
        this.keys = device.alloc(bytes);
        DeviceBuffer v = null;
        PinnedBuffer sk = null, sv = null;
        try {
            v = device.alloc(bytes);
            if (numSwapBlocks > 0) {
                long swapBytes = (long) numLayers * numSwapBlocks * spec.bytesPerLayerBlock();
                sk = device.allocPinned(swapBytes);
                sv = device.allocPinned(swapBytes);
            }
        } catch (RuntimeException e) {
            keys.close();
            if (v != null) v.close();
            if (sk != null) sk.close();
            throw e;
        }
        this.values = v;
        this.swapKeys = sk;
        this.swapValues = sv;
    }

    /**
     * How many blocks of {@code spec} fit in {@code utilization} (0..1] of the device's currently free
     * memory, after {@code reserveBytes} for activations: call it after the weights are uploaded.
     */
    public static int blocksFor(CudaDevice device, double utilization, long reserveBytes, KvCacheSpec spec) {
        if (!(utilization > 0 && utilization <= 1)) {
            throw new IllegalArgumentException("gpu-memory-utilization must be in (0, 1], got " + utilization);
        }
        long free = device.memoryInfo()[0];
        long budget = (long) (free * utilization) - reserveBytes;
        int blocks = spec.blocksIn(budget);
        if (blocks < 1) {
            throw new IllegalStateException("no room for a KV cache: " + free + " bytes free on " + device.name()
                    + ", utilization " + utilization + ", " + reserveBytes + " bytes reserved for activations");
        }
        return Math.min(blocks, Integer.MAX_VALUE / 2);
    }

    @Override public KvCacheSpec spec() { return spec; }
    @Override public int numBlocks() { return numBlocks; }
    public int numKvHeads() { return spec.numKvHeads(); }
    public int headDim() { return spec.headDim(); }
    public int kvDim() { return spec.kvDim(); }
    @Override public int numSwapBlocks() { return numSwapBlocks; }
    public CudaDevice device() { return device; }
    public CudaDtype dtype() { return dtype; }

    /** 16-bit values per block per layer. */
    public int blockHalves() { return (int) spec.valuesPerBlock(); }

    /** 16-bit values per layer. */
    public long layerStride() { return (long) numBlocks * blockHalves(); }

    /** Device address of layer {@code layer}'s keys. */
    public long keys(int layer) { return keys.ptr(2L * layer * layerStride()); }

    /** Device address of layer {@code layer}'s values. */
    public long values(int layer) { return values.ptr(2L * layer * layerStride()); }

    @Override
    public void copyBlock(int src, int dst) {
        copyBlocks(new int[][] {{src, dst}});
    }

    /** Copy-on-write of several blocks at once, every layer: pairs of {src, dst}. */
    public synchronized void copyBlocks(int[][] pairs) {
        if (pairs.length == 0) return;
        int[] flat = new int[2 * pairs.length];
        for (int i = 0; i < pairs.length; i++) {
            checkBlock(pairs[i][0], numBlocks, "source");
            checkBlock(pairs[i][1], numBlocks, "destination");
            flat[2 * i] = pairs[i][0];
            flat[2 * i + 1] = pairs[i][1];
        }
        if (mapping == null || mapping.bytes() < 4L * flat.length) {
            if (mapping != null) mapping.close();
            mapping = device.alloc(Math.max(4096, 8L * flat.length));
        }
        device.upload(MemorySegment.ofArray(flat), mapping, 0);
        device.kernels(dtype).copyBlocks(keys.ptr(), values.ptr(), mapping.ptr(), pairs.length, numLayers,
                layerStride(), blockHalves());
    }

    /** Copies device blocks {@code deviceBlocks[i]} to swap blocks {@code hostBlocks[i]} (preemption by swapping). */
    @Override
    public void swapOut(int[] deviceBlocks, int[] hostBlocks) {
        swap(deviceBlocks, hostBlocks, true);
    }

    /** Copies swap blocks {@code hostBlocks[i]} back to device blocks {@code deviceBlocks[i]}. */
    @Override
    public void swapIn(int[] hostBlocks, int[] deviceBlocks) {
        swap(deviceBlocks, hostBlocks, false);
    }

    private synchronized void swap(int[] deviceBlocks, int[] hostBlocks, boolean out) {
        if (deviceBlocks.length != hostBlocks.length) {
            throw new IllegalArgumentException("swap needs as many host blocks as device blocks");
        }
        if (numSwapBlocks == 0) throw new IllegalStateException("this KV cache has no swap space");
        long blockBytes = spec.bytesPerLayerBlock();
        device.bind();
        for (int i = 0; i < deviceBlocks.length; i++) {
            checkBlock(deviceBlocks[i], numBlocks, "device");
            checkBlock(hostBlocks[i], numSwapBlocks, "swap");
            for (int l = 0; l < numLayers; l++) {
                long d = 2L * l * layerStride() + deviceBlocks[i] * blockBytes;
                long h = (long) l * numSwapBlocks * blockBytes + hostBlocks[i] * blockBytes;
                if (out) {
                    device.copyToHostAsync(swapKeys.address() + h, keys.ptr() + d, blockBytes);
                    device.copyToHostAsync(swapValues.address() + h, values.ptr() + d, blockBytes);
                } else {
                    device.copyToDeviceAsync(keys.ptr() + d, swapKeys.address() + h, blockBytes);
                    device.copyToDeviceAsync(values.ptr() + d, swapValues.address() + h, blockBytes);
                }
            }
        }
        // The swap space must not be reused (nor the blocks freed) before the copies end.
        device.synchronize();
    }

    private static void checkBlock(int b, int count, String what) {
        if (b < 0 || b >= count) {
            throw new IllegalArgumentException(what + " block " + b + " outside 0.." + (count - 1));
        }
    }

    /** Overwrites layer {@code layer}'s keys and values (FP32, rounded to the cache's type): for checks and tests. */
    public void uploadLayer(int layer, float[] k, float[] v) {
        long n = layerStride();
        if (k.length != n || v.length != n) {
            throw new IllegalArgumentException("a layer holds " + n + " values, got " + k.length + " and " + v.length);
        }
        short[] h = new short[(int) n];
        for (int i = 0; i < h.length; i++) h[i] = dtype.fromFloat(k[i]);
        device.upload(MemorySegment.ofArray(h), keys, 2L * layer * n);
        for (int i = 0; i < h.length; i++) h[i] = dtype.fromFloat(v[i]);
        device.upload(MemorySegment.ofArray(h), values, 2L * layer * n);
    }

    /** Layer {@code layer}'s keys as floats, {@code [block][offset][kvHead][headDim]}: for checks. */
    public float[] keysAsFloats(int layer) { return readLayer(keys, layer); }

    /** Layer {@code layer}'s values as floats: for checks. */
    public float[] valuesAsFloats(int layer) { return readLayer(values, layer); }

    private float[] readLayer(DeviceBuffer buf, int layer) {
        long n = layerStride();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("layer too large to read back: " + n + " values");
        }
        short[] h = new short[(int) n];
        device.synchronize();
        device.download(buf, 2L * layer * n, MemorySegment.ofArray(h));
        float[] f = new float[h.length];
        for (int i = 0; i < h.length; i++) f[i] = dtype.toFloat(h[i]);
        return f;
    }

    /** Swap block {@code hostBlock} of layer {@code layer}'s keys as floats: for checks. */
    public float[] swapKeysAsFloats(int layer, int hostBlock) {
        long blockBytes = spec.bytesPerLayerBlock();
        long at = ((long) layer * numSwapBlocks + hostBlock) * blockBytes;
        MemorySegment s = swapKeys.segment().asSlice(at, blockBytes);
        float[] f = new float[blockHalves()];
        for (int i = 0; i < f.length; i++) f[i] = dtype.toFloat(s.getAtIndex(ValueLayout.JAVA_SHORT, i));
        return f;
    }

    @Override
    public synchronized void close() {
        keys.close();
        values.close();
        if (mapping != null) mapping.close();
        if (swapKeys != null) swapKeys.close();
        if (swapValues != null) swapValues.close();
    }
}
