package io.quire.backend.cuda;

import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * Entry point of the CUDA backend: probes once whether the driver loads and a device exists, and
 * hands out the device. Loading the JavaCPP bindings needs {@code libcuda.so.1} (the driver) and
 * {@code libcudart.so.13}; where they are missing (any machine without an NVIDIA GPU) the probe
 * records why and {@link #available()} is false; nothing else fails. The driver is looked for
 * first ({@link CudaDriver}), so such a machine never unpacks the bindings' natives.
 *
 * <p>Only driver functions that CUDA 13.0 has are called: the bindings are built against 13.1,
 * and calling a symbol the installed driver lacks kills the JVM.
 */
public final class Cuda {
    private static final Logger log = LoggerFactory.getLogger(Cuda.class);

    private static volatile boolean probed;
    private static CudaDevice device;
    private static String reason;

    private Cuda() {}

    /** Whether a CUDA device can be used (the first call probes the driver). */
    public static boolean available() {
        probe();
        return device != null;
    }

    /** Why CUDA is not available ("no GPU: ..."), or null when it is. */
    public static String unavailableReason() {
        probe();
        return reason;
    }

    /** The device selected by {@code quire.cuda.device} (default 0). */
    public static CudaDevice device() {
        probe();
        if (device == null) throw new IllegalStateException("CUDA is not available: " + reason);
        return device;
    }

    private static synchronized void probe() {
        if (probed) return;
        try {
            String missing = CudaDriver.missingReason();
            if (missing != null) {
                reason = "no GPU: " + missing;
                return;
            }
            try {
                Loader.load(cudart.class);
            } catch (Throwable t) {
                reason = "no GPU: the CUDA driver bindings could not be loaded (" + describe(t) + ")";
                return;
            }
            int r = cuInit(0);
            if (r != CUDA_SUCCESS) {
                reason = "no GPU: cuInit failed with " + errorName(r);
                return;
            }
            int[] count = new int[1];
            r = cuDeviceGetCount(count);
            if (r != CUDA_SUCCESS || count[0] == 0) {
                reason = "no GPU: the CUDA driver found no device"
                        + (r != CUDA_SUCCESS ? " (" + errorName(r) + ")" : "");
                return;
            }
            int ordinal = Integer.getInteger("quire.cuda.device", 0);
            if (ordinal < 0 || ordinal >= count[0]) {
                reason = "quire.cuda.device=" + ordinal + " but the driver sees " + count[0] + " device(s)";
                return;
            }
            try {
                device = new CudaDevice(ordinal);
                log.info("CUDA device {}: {}", ordinal, device.describe());
            } catch (Throwable t) {
                reason = "CUDA device " + ordinal + " could not be initialized: " + describe(t);
            }
        } finally {
            probed = true;
        }
    }

    /** The message chain of a throwable, causes included: a link error's cause names the missing library. */
    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (!sb.isEmpty()) sb.append(": ");
            String m = c.getMessage();
            sb.append(m != null ? m : c.getClass().getSimpleName());
            if (c.getCause() == c) break;
        }
        return sb.toString();
    }

    /** Throws when a driver call did not return CUDA_SUCCESS. */
    static void check(int result, String call) {
        if (result != CUDA_SUCCESS) throw new CudaException(call + " failed: " + errorName(result));
    }

    static String errorName(int result) {
        try {
            PointerPointer<?> name = new PointerPointer<>(1);
            PointerPointer<?> text = new PointerPointer<>(1);
            if (cuGetErrorName(result, name) == CUDA_SUCCESS && cuGetErrorString(result, text) == CUDA_SUCCESS) {
                return new BytePointer(name.get(0)).getString() + " (" + new BytePointer(text.get(0)).getString() + ")";
            }
        } catch (Throwable ignored) {
            // fall through to the number
        }
        return "CUDA error " + result;
    }
}
