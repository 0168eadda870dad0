package io.quire.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the build must package, checked without a GPU: the kernel sources always (NVRTC compiles
 * them at run time), and where nvcc exists (the Maven profile cuda-kernels ran) an sm_90 PTX and
 * cubin of every cuda/*.cu with every kernel of the source in it.
 */
class KernelResourcesTest {
    private static final Path NVCC = Path.of("/usr/local/cuda/bin/nvcc");
    private static final Pattern KERNEL = Pattern.compile("extern \"C\" __global__ void "
            + "(?:__launch_bounds__\\([^)]*\\) )?(\\w+)\\(");
    /** quire.cuh's EXPORT_F16_BF16(attrs, name, ...): kernels name_f16 and name_bf16. */
    private static final Pattern BOTH_TYPES =
            Pattern.compile("EXPORT_F16_BF16\\(\\s*(?:__launch_bounds__\\([^)]*\\))?\\s*,\\s*(\\w+),");
    /** quant.cu's DEQUANT_KERNEL(type, qk, bytes): kernels dequant_type_f16 and dequant_type_bf16. */
    private static final Pattern DEQUANT = Pattern.compile("(?m)^DEQUANT_KERNEL\\((\\w+),");

    static List<Path> sources() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("cuda"))) {
            return s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
    }

    static List<String> kernels(String source) {
        List<String> names = new ArrayList<>();
        Matcher m = KERNEL.matcher(source);
        while (m.find()) names.add(m.group(1));
        Matcher both = BOTH_TYPES.matcher(source);
        while (both.find()) {
            names.add(both.group(1) + "_f16");
            names.add(both.group(1) + "_bf16");
        }
        Matcher dequant = DEQUANT.matcher(source);
        while (dequant.find()) {
            names.add("dequant_" + dequant.group(1) + "_f16");
            names.add("dequant_" + dequant.group(1) + "_bf16");
        }
        return names;
    }

    @Test
    void sourcesArePackagedForNvrtcAndTheBackendKnowsEveryModule() throws IOException {
        List<Path> sources = sources();
        assertThat(sources).isNotEmpty();
        assertThat(KernelModule.resource("quire.cuh")).isNotNull();
        List<String> names = new ArrayList<>();
        for (Path p : sources) {
            String name = p.getFileName().toString().replaceFirst("\\.cu$", "");
            names.add(name);
            byte[] packaged = KernelModule.resource(name + ".cu");
            assertThat(packaged).as(name + ".cu in the jar").isEqualTo(Files.readAllBytes(p));
            assertThat(kernels(Files.readString(p))).as("kernels in " + p).isNotEmpty();
        }
        assertThat(KernelModule.MODULES).containsExactlyInAnyOrderElementsOf(names);
    }

    /** A name the backend asks for that no source defines would fail only on a GPU, at load. */
    @Test
    void everyKernelTheBackendLoadsIsDefinedInBothTypesWhereTyped() throws IOException {
        List<String> defined = new ArrayList<>();
        for (Path p : sources()) defined.addAll(kernels(Files.readString(p)));
        String java = Files.readString(Path.of("src/main/java/io/quire/backend/cuda/CudaKernels.java"));
        Matcher m = Pattern.compile("kernel\\(\"(\\w+)\"( \\+ t)?\\)").matcher(java);
        List<String> wanted = new ArrayList<>();
        while (m.find()) {
            if (m.group(2) == null) {
                wanted.add(m.group(1));
            } else {
                for (CudaDtype t : CudaDtype.values()) wanted.add(m.group(1) + "_" + t.kernelSuffix());
            }
        }
        // The dequantization kernels are looked up by type name (CudaKernels.DEQUANTIZED).
        for (io.quire.backend.TensorType type : CudaKernels.DEQUANTIZED) {
            for (CudaDtype t : CudaDtype.values()) {
                wanted.add("dequant_" + type.name().toLowerCase(Locale.ROOT) + "_" + t.kernelSuffix());
            }
        }
        assertThat(wanted).hasSizeGreaterThan(40);
        assertThat(defined).containsAll(wanted);
    }

    @Test
    void everySourceIsCompiledToSm90PtxAndCubinWhenNvccExists() throws IOException {
        assumeTrue(Files.isExecutable(NVCC), "no nvcc at " + NVCC + ": kernels are compiled at run time with NVRTC");
        for (Path p : sources()) {
            String name = p.getFileName().toString().replaceFirst("\\.cu$", "");
            byte[] ptxBytes = KernelModule.resource(name + ".ptx");
            assertThat(ptxBytes).as(name + ".ptx packaged").isNotNull();
            String ptx = new String(ptxBytes, StandardCharsets.US_ASCII);
            assertThat(ptx).contains(".target sm_90");
            for (String k : kernels(Files.readString(p))) assertThat(ptx).as(name + ".ptx entry " + k)
                    .contains(".entry " + k + "(");
            byte[] cubin = KernelModule.resource(name + ".cubin");
            assertThat(cubin).as(name + ".cubin packaged").isNotNull();
            assertThat(new String(cubin, 0, 4, StandardCharsets.ISO_8859_1)).isEqualTo("\u007fELF");
        }
    }

    /**
     * The JavaCPP bindings are built against CUDA 13.1; the GPU machines have driver 580 (CUDA
     * 13.0), where calling a 13.1-only symbol kills the JVM. Every driver function the backend
     * calls must be declared by CUDA 13.0's cuda.h (checked where that header is installed).
     */
    @Test
    void everyDriverFunctionCalledExistsInCuda13_0() throws IOException {
        Path header = Path.of("/usr/local/cuda/include/cuda.h");
        assumeTrue(Files.exists(header), "no CUDA toolkit header at " + header);
        String h = Files.readString(header);
        assumeTrue(h.contains("#define CUDA_VERSION 13000"), "the installed cuda.h is not CUDA 13.0");
        Pattern call = Pattern.compile("\\b(cu[A-Z]\\w*)\\(");
        List<String> called = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("src/main/java/io/quire/backend/cuda"))) {
            for (Path f : files.toList()) {
                Matcher m = call.matcher(Files.readString(f));
                while (m.find()) if (!called.contains(m.group(1))) called.add(m.group(1));
            }
        }
        assertThat(called).contains("cuLaunchKernel", "cuModuleLoadData", "cuMemAlloc");
        for (String fn : called) {
            assertThat(Pattern.compile("(CUresult CUDAAPI " + fn + "\\(|#define " + fn + "\\s)").matcher(h).find())
                    .as(fn + " declared in CUDA 13.0's cuda.h").isTrue();
        }
    }
}
