package io.quire.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class SimdTest {
    @Test
    void theKernelsRunAtTheWidthAskedFor() {
        int preferred = FloatVector.SPECIES_PREFERRED.length() >= 16 ? 16 : 8;
        // The surefire execution "other-vector-width" sets quire.vector-bits=other: it must take effect,
        // or the kernels' other lane-count paths go untested.
        int expected = "other".equals(System.getProperty("quire.vector-bits")) ? 24 - preferred : preferred;
        assertThat(Simd.L).isEqualTo(expected);
        assertThat(Simd.species("512").length()).isEqualTo(16);
        assertThat(Simd.species("256").length()).isEqualTo(8);
        assertThat(Simd.species("other").length()).isEqualTo(24 - preferred);
    }
}
