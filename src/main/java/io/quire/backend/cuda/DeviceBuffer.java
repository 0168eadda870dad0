package io.quire.backend.cuda;

import static org.bytedeco.cuda.global.cudart.cuMemFree;

/** A device allocation ({@code cuMemAlloc}); freed by {@link #close()}. */
public final class DeviceBuffer implements AutoCloseable {
    private final CudaDevice device;
    private final long bytes;
    private long ptr;

    DeviceBuffer(CudaDevice device, long ptr, long bytes) {
        this.device = device;
        this.ptr = ptr;
        this.bytes = bytes;
    }

    /** The device address. */
    public long ptr() {
        if (ptr == 0) throw new IllegalStateException("device buffer already freed");
        return ptr;
    }

    /** The device address {@code offset} bytes in. */
    public long ptr(long offset) {
        if (offset < 0 || offset > bytes) throw new IndexOutOfBoundsException("offset " + offset
                + " outside a buffer of " + bytes + " bytes");
        return ptr() + offset;
    }

    public long bytes() { return bytes; }

    public CudaDevice device() { return device; }

    @Override
    public void close() {
        if (ptr != 0) {
            device.bind();
            Cuda.check(cuMemFree(ptr), "cuMemFree");
            ptr = 0;
        }
    }
}
