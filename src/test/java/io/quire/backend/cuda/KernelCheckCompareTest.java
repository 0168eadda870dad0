package io.quire.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The device check's verdicts (pure arithmetic: runs everywhere). */
class KernelCheckCompareTest {

    @Test
    void normwiseErrorAndUnwrittenElements() {
        KernelCheck.Result r = KernelCheck.compare("k", new float[] {1.0005f, -2f, 4f}, new float[] {1f, -2f, 4f}, 1e-3);
        assertThat(r.relError()).isCloseTo(0.0005 / 4, org.assertj.core.data.Offset.offset(1e-7));
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
        assertThat(KernelCheck.compare("k", new float[] {Float.NaN, 3f}, new float[] {Float.NaN, 3f}, 0).passed()).isTrue();
        KernelCheck.Result wrote = KernelCheck.compare("k", new float[] {0f, 3f}, new float[] {Float.NaN, 3f}, 0);
        assertThat(wrote.unwritten()).isEqualTo(1);
        assertThat(wrote.passed()).isFalse();
    }
}
