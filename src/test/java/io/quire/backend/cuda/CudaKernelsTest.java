package io.quire.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every kernel against the CPU backend; runs only where a GPU is usable, skips with the reason elsewhere. */
class CudaKernelsTest {

    @Test
    void everyKernelMatchesTheCpuBackendAndWritesEveryOutput() {
        assumeTrue(Cuda.available(), Cuda::unavailableReason);
        List<KernelCheck.Result> results = KernelCheck.run(Cuda.device(), 20261128L);
        assertThat(results).hasSizeGreaterThan(20);
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.toString()).isTrue());
    }

    @Test
    void everyKernelSourceCompilesWithNvrtcOnTheDevice() {
        assumeTrue(Cuda.available(), Cuda::unavailableReason);
        assertThat(KernelModule.checkNvrtc(Cuda.device())).allSatisfy((name, status) -> assertThat(status).as(name).isEqualTo("ok"));
    }

    @Test
    void unavailableMeansAReasonIsGiven() {
        if (!Cuda.available()) {
            assertThat(Cuda.unavailableReason()).startsWith("no GPU: ").doesNotContain("null");
        } else {
            assertThat(Cuda.unavailableReason()).isNull();
        }
    }
}
