package io.quire.backend.cuda;

import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.SizeTPointer;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * One GPU: its primary context, one stream that every kernel, copy and cuBLAS call of Quire runs
 * on (so they execute in issue order), the loaded kernel modules, and a pinned staging buffer.
 * Every call binds the context to the calling thread first, so any thread may use the device;
 * the model runner still calls it from one thread at a time.
 */
public final class CudaDevice implements AutoCloseable {
    private static final long STAGING_CHUNK = 64L << 20;

    private final int ordinal;
    private final String name;
    private final int ccMajor;
    private final int ccMinor;
    private final int multiprocessors;
    private final CUctx_st context = new CUctx_st();
    private final CUstream_st stream = new CUstream_st();
    private final Map<String, KernelModule> modules = new HashMap<>();
    private final Map<CudaDtype, CudaKernels> kernels = new EnumMap<>(CudaDtype.class);
    // Kernel launches and cuBLAS calls: each costs a driver round trip, what batch-1 decode is bound by.
    private final AtomicLong launches = new AtomicLong();
    private Cublas cublas;
    private PinnedBuffer staging;

    CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        int[] dev = new int[1];
        Cuda.check(cuDeviceGet(dev, ordinal), "cuDeviceGet");
        byte[] nameBytes = new byte[256];
        Cuda.check(cuDeviceGetName(nameBytes, nameBytes.length, dev[0]), "cuDeviceGetName");
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) len++;
        this.name = new String(nameBytes, 0, len, StandardCharsets.UTF_8);
        this.ccMajor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev[0]);
        this.ccMinor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev[0]);
        this.multiprocessors = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev[0]);
        // The primary context is the one the CUDA runtime (and so cuBLAS) uses too.
        Cuda.check(cuDevicePrimaryCtxRetain(context, dev[0]), "cuDevicePrimaryCtxRetain");
        bind();
        Cuda.check(cuStreamCreate(stream, 0), "cuStreamCreate");
    }

    private static int attribute(int attr, int dev) {
        int[] v = new int[1];
        Cuda.check(cuDeviceGetAttribute(v, attr, dev), "cuDeviceGetAttribute(" + attr + ")");
        return v[0];
    }

    public int ordinal() { return ordinal; }
    public String name() { return name; }
    public int computeCapability() { return ccMajor * 10 + ccMinor; }
    public int multiprocessors() { return multiprocessors; }
    CUstream_st stream() { return stream; }

    /** Kernel launches plus cuBLAS calls made on this device so far. */
    public long launches() {
        return launches.get();
    }

    void countLaunch() {
        launches.incrementAndGet();
    }

    public String describe() {
        long[] mem = memoryInfo();
        return String.format("%s, compute capability %d.%d, %d multiprocessors, %.1f of %.1f GiB free",
                name, ccMajor, ccMinor, multiprocessors, mem[0] / 1073741824.0, mem[1] / 1073741824.0);
    }

    /** Makes this device's context current on the calling thread. */
    public void bind() {
        Cuda.check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    /** {free, total} device memory in bytes. */
    public long[] memoryInfo() {
        bind();
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            Cuda.check(cuMemGetInfo(free, total), "cuMemGetInfo");
            return new long[] {free.get(), total.get()};
        }
    }

    public DeviceBuffer alloc(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("device allocation must be positive, got " + bytes + " bytes");
        }
        bind();
        long[] p = new long[1];
        int r = cuMemAlloc(p, bytes);
        if (r != CUDA_SUCCESS) {
            throw new CudaException("cuMemAlloc of " + bytes + " bytes failed: " + Cuda.errorName(r) + " ("
                    + memoryInfo()[0] + " bytes free)");
        }
        return new DeviceBuffer(this, p[0], bytes);
    }

    public PinnedBuffer allocPinned(long bytes) {
        return new PinnedBuffer(this, bytes);
    }

    /** Waits for everything issued on the device's stream. */
    public void synchronize() {
        bind();
        Cuda.check(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    // ---- Transfers. Synchronous: they run on the legacy default stream, which waits for (and is
    // waited for by) our blocking stream, so they are ordered with the kernels around them. ----

    /** Copies {@code src} (any segment: heap, mapped file, native) to {@code dst} at byte {@code dstOffset}. */
    public void upload(MemorySegment src, DeviceBuffer dst, long dstOffset) {
        long n = src.byteSize();
        checkRange(dst, dstOffset, n);
        bind();
        if (src.isNative()) {
            Cuda.check(cuMemcpyHtoD(dst.ptr() + dstOffset, new RawPointer(src.address()), n), "cuMemcpyHtoD");
            return;
        }
        for (long done = 0; done < n; ) {
            long chunk = Math.min(STAGING_CHUNK, n - done);
            MemorySegment stage = staging(chunk);
            MemorySegment.copy(src, done, stage, 0, chunk);
            Cuda.check(cuMemcpyHtoD(dst.ptr() + dstOffset + done, new RawPointer(stage.address()), chunk),
                    "cuMemcpyHtoD");
            done += chunk;
        }
    }

    /** Copies {@code dst.byteSize()} bytes from {@code src} at byte {@code srcOffset} into {@code dst}. */
    public void download(DeviceBuffer src, long srcOffset, MemorySegment dst) {
        long n = dst.byteSize();
        checkRange(src, srcOffset, n);
        bind();
        if (dst.isNative()) {
            Cuda.check(cuMemcpyDtoH(new RawPointer(dst.address()), src.ptr() + srcOffset, n), "cuMemcpyDtoH");
            return;
        }
        for (long done = 0; done < n; ) {
            long chunk = Math.min(STAGING_CHUNK, n - done);
            MemorySegment stage = staging(chunk);
            Cuda.check(cuMemcpyDtoH(new RawPointer(stage.address()), src.ptr() + srcOffset + done, chunk),
                    "cuMemcpyDtoH");
            MemorySegment.copy(stage, 0, dst, done, chunk);
            done += chunk;
        }
    }

    public void upload(float[] src, DeviceBuffer dst) { upload(MemorySegment.ofArray(src), dst, 0); }
    public void upload(int[] src, DeviceBuffer dst) { upload(MemorySegment.ofArray(src), dst, 0); }
    public void upload(short[] src, DeviceBuffer dst) { upload(MemorySegment.ofArray(src), dst, 0); }

    public float[] downloadFloats(DeviceBuffer src, int count) {
        float[] out = new float[count];
        download(src, 0, MemorySegment.ofArray(out));
        return out;
    }

    public short[] downloadShorts(DeviceBuffer src, int count) {
        short[] out = new short[count];
        download(src, 0, MemorySegment.ofArray(out));
        return out;
    }

    /** An FP32 array on the device. */
    public DeviceBuffer upload(float[] src) {
        DeviceBuffer b = alloc(Math.max(4L, 4L * src.length));
        if (src.length > 0) upload(src, b);
        return b;
    }

    /** An int array on the device. */
    public DeviceBuffer upload(int[] src) {
        DeviceBuffer b = alloc(Math.max(4L, 4L * src.length));
        if (src.length > 0) upload(src, b);
        return b;
    }

    /** Fills {@code words} 32-bit words of {@code dst} with {@code value} (e.g. NaN bits before a check). */
    public void fill32(DeviceBuffer dst, int value, long words) {
        checkRange(dst, 0, 4 * words);
        bind();
        Cuda.check(cuMemsetD32(dst.ptr(), value, words), "cuMemsetD32");
    }

    /** Device-to-device copy on the stream. */
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes) {
        checkRange(src, srcOffset, bytes);
        checkRange(dst, dstOffset, bytes);
        bind();
        Cuda.check(cuMemcpyDtoDAsync(dst.ptr() + dstOffset, src.ptr() + srcOffset, bytes, stream), "cuMemcpyDtoDAsync");
    }

    void copyToHostAsync(long dstHostAddress, long srcDevice, long bytes) {
        Cuda.check(cuMemcpyDtoHAsync(new RawPointer(dstHostAddress), srcDevice, bytes, stream), "cuMemcpyDtoHAsync");
    }

    void copyToDeviceAsync(long dstDevice, long srcHostAddress, long bytes) {
        Cuda.check(cuMemcpyHtoDAsync(dstDevice, new RawPointer(srcHostAddress), bytes, stream), "cuMemcpyHtoDAsync");
    }

    private static void checkRange(DeviceBuffer b, long offset, long n) {
        if (offset < 0 || n < 0 || offset + n > b.bytes()) {
            throw new IndexOutOfBoundsException(n + " bytes at " + offset + " do not fit a device buffer of "
                    + b.bytes());
        }
    }

    private MemorySegment staging(long bytes) {
        if (staging == null || staging.bytes() < bytes) {
            if (staging != null) staging.close();
            staging = new PinnedBuffer(this, Math.max(bytes, 1L << 20));
        }
        return staging.segment().asSlice(0, bytes);
    }

    /**
     * Milliseconds the work issued by {@code work} takes on the stream, measured with CUDA events
     * (so host-side launch overhead that overlaps GPU work is not counted).
     */
    public float time(Runnable work) {
        bind();
        CUevent_st start = new CUevent_st();
        CUevent_st end = new CUevent_st();
        Cuda.check(cuEventCreate(start, CU_EVENT_DEFAULT), "cuEventCreate");
        Cuda.check(cuEventCreate(end, CU_EVENT_DEFAULT), "cuEventCreate");
        try {
            Cuda.check(cuEventRecord(start, stream), "cuEventRecord");
            work.run();
            bind();
            Cuda.check(cuEventRecord(end, stream), "cuEventRecord");
            Cuda.check(cuEventSynchronize(end), "cuEventSynchronize");
            float[] ms = new float[1];
            Cuda.check(cuEventElapsedTime(ms, start, end), "cuEventElapsedTime");
            return ms[0];
        } finally {
            cuEventDestroy(start);
            cuEventDestroy(end);
        }
    }

    /** The kernel module built from {@code cuda/<name>.cu}, loaded on first use. */
    public synchronized KernelModule module(String name) {
        KernelModule m = modules.get(name);
        if (m == null) {
            m = KernelModule.load(this, name);
            modules.put(name, m);
        }
        return m;
    }

    /** Quire's kernels for FP16 (loads every module on first use). */
    public CudaKernels kernels() {
        return kernels(CudaDtype.FLOAT16);
    }

    /** Quire's kernels storing and reading {@code dtype} (loads every module on first use). */
    public synchronized CudaKernels kernels(CudaDtype dtype) {
        return kernels.computeIfAbsent(dtype, t -> new CudaKernels(this, t));
    }

    /** The cuBLAS handle bound to this device's stream. */
    public synchronized Cublas cublas() {
        if (cublas == null) cublas = new Cublas(this);
        return cublas;
    }

    /** How each module was loaded (cubin, ptx or nvrtc), for logs and the device check. */
    public synchronized Map<String, String> moduleSources() {
        Map<String, String> m = new TreeMap<>();
        modules.forEach((k, v) -> m.put(k, v.source()));
        return m;
    }

    @Override
    public synchronized void close() {
        bind();
        if (cublas != null) cublas.close();
        if (staging != null) staging.close();
        for (KernelModule m : modules.values()) m.close();
        modules.clear();
        cuStreamDestroy(stream);
    }
}
