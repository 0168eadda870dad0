package io.quire.cli.check;

import io.quire.backend.cuda.Cuda;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The device check: its verdicts (pure arithmetic, run everywhere) and its run where a GPU is usable. */
class KernelCheckTest {

    @Test
    void everyKernelMatchesTheCpuBackendAndWritesEveryOutput() {
        assumeTrue(Cuda.available(), Cuda::unavailableReason);
        List<KernelCheck.Result> results = KernelCheck.run(Cuda.device(), 20261128L);
        assertThat(results).hasSizeGreaterThan(20);
        assertThat(results).allSatisfy(r -> assertThat(r.passed()).as(r.toString()).isTrue());
    }

    @Test
    void normwiseErrorAndUnwrittenElements() {
        KernelCheck.Result r = KernelCheck.compare("k", new float[] {1.0005f, -2f, 4f}, new float[] {1f, -2f, 4f},
                1e-3);
        assertThat(r.relError()).isCloseTo(0.0005 / 4, Offset.offset(1e-7));
        assertThat(r.unwritten()).isZero();
        assertThat(r.passed()).isTrue();

        KernelCheck.Result nan = KernelCheck.compare("k", new float[] {1f, Float.NaN}, new float[] {1f, 2f}, 1e-3);
        assertThat(nan.unwritten()).isEqualTo(1);
        assertThat(nan.passed()).isFalse();

        KernelCheck.Result tooFar = KernelCheck.compare("k", new float[] {1.01f, 2f}, new float[] {1f, 2f}, 1e-3);
        assertThat(tooFar.passed()).isFalse();
    }

    @Test
    void referenceNanMustStayNan() {
        KernelCheck.Result kept = KernelCheck.compare("k", new float[] {Float.NaN, 3f}, new float[] {Float.NaN, 3f}, 0);
        assertThat(kept.passed()).isTrue();
        KernelCheck.Result wrote = KernelCheck.compare("k", new float[] {0f, 3f}, new float[] {Float.NaN, 3f}, 0);
        assertThat(wrote.unwritten()).isEqualTo(1);
        assertThat(wrote.passed()).isFalse();
    }
}
