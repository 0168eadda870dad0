package io.quire.backend.cuda;

import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.bytedeco.cuda.global.nvrtc.*;

/** Run-time compilation of kernel sources with NVRTC ({@code libnvrtc.so.13}), to a cubin for the device. */
final class Nvrtc {
    private Nvrtc() {}

    /** Null when NVRTC's bindings load, else why not. Needs no GPU (but the presets load libcuda.so.1). */
    static String unavailableReason() {
        try {
            Loader.load(nvrtc.class);
            return null;
        } catch (Throwable t) {
            return "NVRTC unavailable: " + Cuda.describe(t);
        }
    }

    /**
     * Compiles {@code source} for compute capability {@code cc} (e.g. 90) and returns the cubin.
     * Runs on a thread of its own with a 256 MB stack: NVRTC's front end recurses deeply, and a
     * caller's default 1 MB stack (a plain {@code java} main thread) is not always enough.
     */
    static byte[] compile(String fileName, String source, Map<String, String> headers, int cc) {
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                result.set(compileOnThisThread(fileName, source, headers, cc));
            } catch (Throwable e) {
                result.set(e);
            }
        }, "nvrtc-" + fileName, 256L << 20);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CudaException("interrupted while NVRTC compiled " + fileName, e);
        }
        Object r = result.get();
        if (r instanceof byte[] cubin) return cubin;
        if (r instanceof RuntimeException e) throw e;
        if (r instanceof Error e) throw e;
        throw new CudaException("NVRTC failed to compile " + fileName, (Throwable) r);
    }

    private static byte[] compileOnThisThread(String fileName, String source, Map<String, String> headers, int cc) {
        try {
            Loader.load(nvrtc.class);
        } catch (Throwable t) {
            throw new CudaException("no compiled kernels fit this GPU and NVRTC is unavailable"
                    + " (libnvrtc.so.13 needed): " + Cuda.describe(t), t);
        }
        String[] names = headers.keySet().toArray(String[]::new);
        String[] bodies = new String[names.length];
        for (int i = 0; i < names.length; i++) bodies[i] = headers.get(names[i]);
        _nvrtcProgram prog = new _nvrtcProgram();
        try (BytePointer src = new BytePointer(source); BytePointer name = new BytePointer(fileName);
             PointerPointer<?> hdrs = new PointerPointer<>(bodies);
             PointerPointer<?> incl = new PointerPointer<>(names)) {
            check(nvrtcCreateProgram(prog, src, name, names.length, hdrs, incl), "nvrtcCreateProgram");
        }
        try {
            String[] options = {"--gpu-architecture=sm_" + cc, "-std=c++17"};
            int r;
            try (PointerPointer<?> opts = new PointerPointer<>(options)) {
                r = nvrtcCompileProgram(prog, options.length, opts);
            }
            if (r != NVRTC_SUCCESS) {
                throw new CudaException("NVRTC failed to compile " + fileName + ": " + errorString(r) + "\n"
                        + log(prog));
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                check(nvrtcGetCUBINSize(prog, size), "nvrtcGetCUBINSize");
                byte[] cubin = new byte[(int) size.get()];
                check(nvrtcGetCUBIN(prog, cubin), "nvrtcGetCUBIN");
                return cubin;
            }
        } finally {
            nvrtcDestroyProgram(prog);
        }
    }

    private static String log(_nvrtcProgram prog) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            if (nvrtcGetProgramLogSize(prog, size) != NVRTC_SUCCESS) return "";
            byte[] b = new byte[(int) size.get()];
            if (nvrtcGetProgramLog(prog, b) != NVRTC_SUCCESS) return "";
            int n = b.length > 0 && b[b.length - 1] == 0 ? b.length - 1 : b.length;
            return new String(b, 0, n, StandardCharsets.UTF_8);
        }
    }

    private static void check(int r, String call) {
        if (r != NVRTC_SUCCESS) throw new CudaException(call + " failed: " + errorString(r));
    }

    private static String errorString(int r) {
        BytePointer p = nvrtcGetErrorString(r);
        return p == null ? "NVRTC error " + r : p.getString();
    }
}
