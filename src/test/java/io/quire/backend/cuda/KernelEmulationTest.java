package io.quire.backend.cuda;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernels' logic without a GPU: cuda/emu/run.sh compiles the .cu sources for the CPU with a
 * thread-per-CUDA-thread stand-in (cuda/emu/cuda_emu.h) and compares paged attention (decode v1,
 * split-K v2 with its reduce, causal prefill; head sizes 8, 64, 96, 128 with GQA), RMSNorm, both
 * RoPE layouts, reshape_and_cache, copy_blocks and dequantization with double-precision
 * references. Needs g++ with C++20; skips without. Takes tens of seconds (one OS thread per CUDA
 * thread).
 */
// Builds and runs the kernels on the CPU emulation: tens of seconds. Not in the quick run (-Pquick).
@Tag("slow")
class KernelEmulationTest {

    @Test
    void kernelsComputeTheReferenceResultsOnTheCpuEmulation() throws Exception {
        boolean gpp;
        try {
            gpp = new ProcessBuilder("g++", "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
        } catch (java.io.IOException e) {
            gpp = false;
        }
        assumeTrue(gpp, "no g++ to build the CPU emulation of the kernels");
        Path dir = Path.of("target/cuda-emu").toAbsolutePath();
        Files.createDirectories(dir);
        Path log = dir.resolve("emu.log");
        Process p = new ProcessBuilder("bash", "cuda/emu/run.sh", dir.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(600, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        String out = Files.readString(log);
        assertThat(done).as("emulation finished: " + out).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("emu: all passed").doesNotContain("FAIL");
    }
}
