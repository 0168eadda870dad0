package io.quire.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every kernel source through NVRTC on the device; runs only where a GPU is usable, skips with the reason elsewhere.
 * Every kernel against the CPU backend is {@code cli.check.KernelCheckTest}.
 */
class CudaKernelsTest {

    @Test
    void everyKernelSourceCompilesWithNvrtcOnTheDevice() {
        assumeTrue(Cuda.available(), Cuda::unavailableReason);
        assertThat(KernelModule.checkNvrtc(Cuda.device()))
                .allSatisfy((name, status) -> assertThat(status).as(name).isEqualTo("ok"));
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
