package io.quire.backend.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * One {@code __global__} function and its launch. Arguments are packed as cuLaunchKernel wants
 * them: an array of pointers, each to one argument's value. {@link DeviceBuffer} and {@link Long}
 * pass 8 bytes (a device pointer or a {@code long long}), {@link Integer} and {@link Float} 4, and
 * {@code null} a null pointer.
 */
public final class Kernel {
    private static final int MAX_ARGS = 32;

    private final CudaDevice device;
    private final String name;
    private final CUfunc_st function;
    // [0, 8*MAX_ARGS): argument values; then MAX_ARGS pointers to them. Reused: cuLaunchKernel
    // copies the values before it returns.
    private final MemorySegment args = Arena.global().allocate(16L * MAX_ARGS, 8);
    // A PointerPointer: the (Pointer, Pointer) overload of cuLaunchKernel would pass the address
    // of a pointer holding it (@ByPtrPtr), not the array itself.
    private final PointerPointer<Pointer> params;
    private int maxDynamicShared = 48 * 1024;

    Kernel(CudaDevice device, String name, CUfunc_st function) {
        this.device = device;
        this.name = name;
        this.function = function;
        for (int i = 0; i < MAX_ARGS; i++) {
            args.set(ValueLayout.JAVA_LONG, 8L * (MAX_ARGS + i), args.address() + 8L * i);
        }
        this.params = new PointerPointer<>((Pointer) new RawPointer(args.address() + 8L * MAX_ARGS));
    }

    public String name() { return name; }

    /** Launches on the device's stream; {@code sharedBytes} of dynamic shared memory. */
    public synchronized void launch(int gridX, int gridY, int gridZ, int block, int sharedBytes, Object... values) {
        if (values.length > MAX_ARGS) throw new IllegalArgumentException(name + ": at most " + MAX_ARGS + " arguments");
        if (gridX <= 0 || gridY <= 0 || gridZ <= 0) return;  // nothing to do
        for (int i = 0; i < values.length; i++) {
            long off = 8L * i;
            switch (values[i]) {
                case null -> args.set(ValueLayout.JAVA_LONG, off, 0L);
                case DeviceBuffer b -> args.set(ValueLayout.JAVA_LONG, off, b.ptr());
                case Long l -> args.set(ValueLayout.JAVA_LONG, off, l);
                case Integer n -> args.set(ValueLayout.JAVA_INT, off, n);
                case Float f -> args.set(ValueLayout.JAVA_FLOAT, off, f);
                default -> throw new IllegalArgumentException(name + ": unsupported argument type "
                        + values[i].getClass().getSimpleName());
            }
        }
        device.bind();
        if (sharedBytes > maxDynamicShared) {
            // Above 48 KB a kernel must opt in to more dynamic shared memory.
            Cuda.check(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes),
                    "cuFuncSetAttribute(" + name + ", " + sharedBytes + " bytes of shared memory)");
            maxDynamicShared = sharedBytes;
        }
        int r = cuLaunchKernel(function, gridX, gridY, gridZ, block, 1, 1, sharedBytes, device.stream(), params,
                (PointerPointer<?>) null);
        if (r != CUDA_SUCCESS) {
            throw new CudaException("launching " + name + " <<<(" + gridX + "," + gridY + "," + gridZ + "), " + block
                    + ", " + sharedBytes + ">>> failed: " + Cuda.errorName(r));
        }
        device.countLaunch();
    }
}
