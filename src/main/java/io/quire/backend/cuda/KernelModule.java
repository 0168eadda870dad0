package io.quire.backend.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.javacpp.BytePointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.bytedeco.cuda.global.cudart.*;

/**
 * The kernels of one {@code cuda/<name>.cu} file loaded into the device. Tried in order (or as
 * {@code quire.cuda.kernels=cubin|ptx|nvrtc} forces): the sm_90 cubin the build made, when the
 * device is compute capability 9.0; the compute_90 PTX the build made, JIT-compiled by the driver
 * for any device of capability 9.0 or higher; else the {@code .cu} source compiled now with NVRTC
 * for this exact device (the path for builds that had no nvcc, or other GPUs).
 */
public final class KernelModule implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KernelModule.class);
    static final String RESOURCE_DIR = "/cuda/";

    private final CudaDevice device;
    private final String name;
    private final String source;
    private final CUmod_st module;
    private final Map<String, Kernel> kernels = new HashMap<>();

    private KernelModule(CudaDevice device, String name, String source, CUmod_st module) {
        this.device = device;
        this.name = name;
        this.source = source;
        this.module = module;
    }

    static KernelModule load(CudaDevice device, String name) {
        String mode = System.getProperty("quire.cuda.kernels", "auto");
        int cc = device.computeCapability();
        StringBuilder tried = new StringBuilder();
        if ((mode.equals("auto") && cc == 90) || mode.equals("cubin")) {
            KernelModule m = tryImage(device, name, "cubin", resource(name + ".cubin"), tried);
            if (m != null) return m;
        }
        if ((mode.equals("auto") && cc >= 90) || mode.equals("ptx")) {
            byte[] ptx = resource(name + ".ptx");
            KernelModule m = tryImage(device, name, "ptx", ptx == null ? null : nulTerminated(ptx), tried);
            if (m != null) return m;
        }
        if (mode.equals("auto") || mode.equals("nvrtc")) {
            byte[] src = resource(name + ".cu");
            if (src == null) throw new CudaException("kernel source cuda/" + name + ".cu is missing from the jar");
            byte[] image = Nvrtc.compile(name + ".cu", new String(src, StandardCharsets.UTF_8), headers(), cc);
            KernelModule m = tryImage(device, name, "nvrtc", image, tried);
            if (m != null) return m;
        }
        throw new CudaException("could not load kernels " + name + " (quire.cuda.kernels=" + mode + "): " + tried);
    }

    private static KernelModule tryImage(CudaDevice device, String name, String kind, byte[] image,
            StringBuilder tried) {
        if (image == null) {
            tried.append(kind).append(": no resource; ");
            return null;
        }
        device.bind();
        CUmod_st mod = new CUmod_st();
        try (BytePointer p = new BytePointer(image)) {
            int r = cuModuleLoadData(mod, p);
            if (r != CUDA_SUCCESS) {
                tried.append(kind).append(": ").append(Cuda.errorName(r)).append("; ");
                log.debug("loading {} {} failed: {}", name, kind, Cuda.errorName(r));
                return null;
            }
        }
        log.debug("kernels {} loaded from {}", name, kind);
        return new KernelModule(device, name, kind, mod);
    }

    private static byte[] nulTerminated(byte[] b) {
        byte[] out = Arrays.copyOf(b, b.length + 1);
        out[b.length] = 0;
        return out;
    }

    /** Headers the sources include (NVRTC gets them by name instead of a search path). */
    private static Map<String, String> headers() {
        byte[] h = resource("quire.cuh");
        if (h == null) throw new CudaException("kernel header cuda/quire.cuh is missing from the jar");
        return Map.of("quire.cuh", new String(h, StandardCharsets.UTF_8));
    }

    static byte[] resource(String file) {
        try (InputStream in = KernelModule.class.getResourceAsStream(RESOURCE_DIR + file)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading kernel resource " + file, e);
        }
    }

    /** The kernel files the backend loads ({@code cuda/<name>.cu}). */
    public static final List<String> MODULES = List.of("attention", "cache", "elementwise", "norm", "quant", "rope");

    /**
     * Compiles every kernel source with NVRTC for {@code device} and loads the result, whatever
     * the build put in the jar: checks the run-time path that machines without nvcc rely on.
     * Returns module name to "ok" or the error.
     */
    public static Map<String, String> checkNvrtc(CudaDevice device) {
        Map<String, String> out = new TreeMap<>();
        for (String name : MODULES) {
            try {
                byte[] src = resource(name + ".cu");
                if (src == null) throw new CudaException("cuda/" + name + ".cu missing from the jar");
                byte[] image = Nvrtc.compile(name + ".cu", new String(src, StandardCharsets.UTF_8), headers(),
                        device.computeCapability());
                StringBuilder tried = new StringBuilder();
                KernelModule m = tryImage(device, name, "nvrtc", image, tried);
                if (m == null) throw new CudaException(tried.toString());
                m.close();
                out.put(name, "ok");
            } catch (RuntimeException e) {
                out.put(name, Cuda.describe(e));
            }
        }
        return out;
    }

    /** How the module was loaded: cubin, ptx or nvrtc. */
    public String source() { return source; }

    public String name() { return name; }

    /** The kernel {@code function} of this module ({@code extern "C"} name). */
    public synchronized Kernel kernel(String function) {
        Kernel k = kernels.get(function);
        if (k == null) {
            device.bind();
            CUfunc_st f = new CUfunc_st();
            Cuda.check(cuModuleGetFunction(f, module, function), "cuModuleGetFunction(" + name + "/" + function + ")");
            k = new Kernel(device, name + "/" + function, f);
            kernels.put(function, k);
        }
        return k;
    }

    @Override
    public void close() {
        device.bind();
        cuModuleUnload(module);
    }
}
