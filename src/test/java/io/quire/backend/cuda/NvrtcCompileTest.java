package io.quire.backend.cuda;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The run-time compilation path: every cuda/*.cu, with its header handed over by name, compiles
 * with NVRTC (no toolkit headers) to an sm_90 cubin. Needs libnvrtc.so.13 (and, for the JavaCPP
 * presets to load, libcuda.so.1) but no GPU; skips with the reason where they are missing.
 */
class NvrtcCompileTest {

    @Test
    void everyKernelSourceCompilesWithNvrtcForSm90() throws Exception {
        String reason = Nvrtc.unavailableReason();
        assumeTrue(reason == null, reason);
        Map<String, String> headers = Map.of("quire.cuh", Files.readString(Path.of("cuda/quire.cuh")));
        for (Path p : KernelResourcesTest.sources()) {
            byte[] cubin = Nvrtc.compile(p.getFileName().toString(), Files.readString(p), headers, 90);
            assertThat(new String(cubin, 0, 4, StandardCharsets.ISO_8859_1)).as(p + " cubin").isEqualTo("\u007fELF");
            String text = new String(cubin, StandardCharsets.ISO_8859_1);
            for (String k : KernelResourcesTest.kernels(Files.readString(p))) assertThat(text).as(p + " has " + k)
                    .contains(k);
        }
    }
}
