package io.quire.model;

import io.quire.SharedFiles;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The whole Java GPU path on an emulated GPU (cuda/emu: a libcuda.so.1 whose kernels run on the
 * CPU and a libcublas.so.13 with a plain GEMM), in a JVM of its own: KernelCheck's every kernel
 * against the CPU backend, CudaLlamaModel against LlamaModel on random llama/qwen2 models in
 * F16, Q8_0, F32 and BF16 (as FP16 and as BF16), greedy stories260K, and the engine swapping
 * sequences to pinned host memory and back. It takes about three minutes (one OS thread per
 * emulated CUDA thread); {@code -Dquire.test.emulatedGpu=false} skips it. Needs g++ and CUDA 13's
 * libcudart.so.13 (CI has both); skips without.
 */
// Minutes: every emulated CUDA thread is an OS thread. Not in the quick run (-Pquick).
@Tag("slow")
class CudaEmulatedDeviceTest {

    @Test
    void javaBackendRunsEndToEndOnTheEmulatedGpu() throws Exception {
        assumeTrue(!"false".equals(System.getProperty("quire.test.emulatedGpu")),
                "skipped: -Dquire.test.emulatedGpu=false");
        Path cudart = Path.of("/usr/local/cuda/lib64");
        assumeTrue(Files.exists(cudart.resolve("libcudart.so.13")), "no libcudart.so.13 in " + cudart);
        Path libs = Path.of("target/cuda-emu-libs").toAbsolutePath();
        Files.createDirectories(libs);
        assumeTrue(hasGpp(libs.resolve("gxx.log")), "no g++ to build the emulated GPU");
        // With a compiler, a build failure is a failure (a kernel that no longer compiles), not a skip.
        int built = run(List.of("bash", "cuda/emu/build-libs.sh", libs.toString()), null, libs.resolve("build.log"),
                300);
        assertThat(built).as("building the emulated GPU: " + Files.readString(libs.resolve("build.log"))).isZero();

        Path stories = SharedFiles.require("models/stories260K.gguf");
        Path log = libs.resolve("run.log");
        int rc = run(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-Dorg.bytedeco.javacpp.cachedir=" + Path.of("target/javacpp-cache").toAbsolutePath(),
                "-cp", System.getProperty("java.class.path"), EmulatedDeviceMain.class.getName(), stories.toString()),
                libs + ":" + cudart, log, 1800);
        String out = Files.readString(log);
        assertThat(rc).as(out).isZero();
        assertThat(out).contains("emulated device ok").doesNotContain("FAIL");
    }

    private static boolean hasGpp(Path log) throws Exception {
        try {
            return run(List.of("g++", "--version"), null, log, 30) == 0;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static int run(List<String> cmd, String ldPath, Path log, int seconds) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        if (ldPath != null) pb.environment().put("LD_LIBRARY_PATH", ldPath);
        Process p = pb.start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }
}
