package io.quire.backend.cuda;

import org.bytedeco.javacpp.PointerPointer;

import java.lang.foreign.MemorySegment;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * Page-locked host memory ({@code cuMemHostAlloc}): staging for transfers and the KV cache's swap
 * space. Seen from Java as a native {@link MemorySegment}; freed by {@link #close()}.
 */
public final class PinnedBuffer implements AutoCloseable {
    private final CudaDevice device;
    private final long bytes;
    private MemorySegment segment;

    PinnedBuffer(CudaDevice device, long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("pinned buffer size must be positive, got " + bytes);
        this.device = device;
        this.bytes = bytes;
        device.bind();
        PointerPointer<?> p = new PointerPointer<>(1);
        Cuda.check(cuMemHostAlloc(p, bytes, CU_MEMHOSTALLOC_PORTABLE), "cuMemHostAlloc(" + bytes + " bytes)");
        this.segment = MemorySegment.ofAddress(p.get(0).address()).reinterpret(bytes);
    }

    public MemorySegment segment() {
        if (segment == null) throw new IllegalStateException("pinned buffer already freed");
        return segment;
    }

    public long address() { return segment().address(); }

    public long bytes() { return bytes; }

    @Override
    public void close() {
        if (segment != null) {
            device.bind();
            Cuda.check(cuMemFreeHost(new RawPointer(segment.address())), "cuMemFreeHost");
            segment = null;
        }
    }
}
