package io.quire.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The backend's host side against a stand-in libcuda.so.1 (src/test/resources/cuda-stub), in a
 * JVM of its own: device memory, transfers, pinned memory, the KV cache's swap, kernel argument
 * packing and launch configuration all go through the real JavaCPP bindings, with no GPU. Needs
 * gcc (to build the stub) and CUDA 13's libcudart.so.13 (which the bindings link); skips without.
 */
class CudaPlumbingTest {
    private static final Path CUDART_DIR = Path.of("/usr/local/cuda/lib64");

    @Test
    void hostSideOfTheBackendWorksThroughTheBindings() throws Exception {
        assumeTrue(Files.exists(CUDART_DIR.resolve("libcudart.so.13")), "no libcudart.so.13 in " + CUDART_DIR);
        Path stubDir = Path.of("target/cuda-stub").toAbsolutePath();
        Files.createDirectories(stubDir);
        Path stub = stubDir.resolve("libcuda.so.1");
        int gcc;
        try {
            gcc = run(List.of("gcc", "-shared", "-fPIC", "-o", stub.toString(), "-Wl,-soname,libcuda.so.1",
                    "src/test/resources/cuda-stub/libcuda_stub.c"), null, stubDir.resolve("gcc.log"));
        } catch (IOException e) {
            gcc = -1;
        }
        assumeTrue(gcc == 0, "gcc could not build the libcuda stub");

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = stubDir.resolve("run.log");
        int rc = run(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-Dorg.bytedeco.javacpp.cachedir=" + Path.of("target/javacpp-cache").toAbsolutePath(),
                "-cp", System.getProperty("java.class.path"), StubPlumbingMain.class.getName()),
                stubDir + ":" + CUDART_DIR, log);
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(rc).as(out).isZero();
        assertThat(out).contains("plumbing ok");
        // Launch configurations and packed arguments as the kernels will receive them.
        assertThat(out).contains("stub launch copy_blocks <<<(1,2,1),(256,1,1),0>>> args:");
        assertThat(out).contains("stub launch add <<<(5,1,1),(256,1,1),0>>> args: 1111 2222 4d2");
        assertThat(out).contains("stub launch rms_norm_f16 <<<(7,1,1),(256,1,1),0>>> args: a b c");
        assertThat(out).contains("stub attribute paged_attention_prefill_f16 8=84288");
        assertThat(out).contains("stub launch paged_attention_prefill_f16 <<<(32,3,1),(128,1,1),84288>>> args: 1 2 ");
    }

    private static int run(List<String> cmd, String ldPath, Path log) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        if (ldPath != null) pb.environment().put("LD_LIBRARY_PATH", ldPath);
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -2;
        }
        return p.exitValue();
    }
}
