package io.quire.cli.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SummaryTest {

    @Test
    void percentilesInterpolateLinearlyLikeNumpy() {
        // numpy.percentile([4, 1, 3, 2], q) = 1.75 (25), 2.5 (50), 3.97 (99), 4 (100), 1 (0)
        double[] sorted = {1, 2, 3, 4};
        assertThat(Summary.percentile(sorted, 25)).isCloseTo(1.75, within(1e-12));
        assertThat(Summary.percentile(sorted, 50)).isCloseTo(2.5, within(1e-12));
        assertThat(Summary.percentile(sorted, 99)).isCloseTo(3.97, within(1e-12));
        assertThat(Summary.percentile(sorted, 100)).isEqualTo(4);
        assertThat(Summary.percentile(sorted, 0)).isEqualTo(1);
    }

    @Test
    void summarizesUnsortedSamples() {
        Summary s = Summary.of(new double[] {4, 1, 3, 2, 10}, List.of(90.0, 99.0));
        assertThat(s.count()).isEqualTo(5);
        assertThat(s.mean()).isCloseTo(4.0, within(1e-12));
        assertThat(s.median()).isEqualTo(3);
        // population std: deviations -3,-2,-1,0,6 -> (9+4+1+0+36)/5 = 10
        assertThat(s.std()).isCloseTo(Math.sqrt(10), within(1e-12));
        // rank 0.9*4 = 3.6 -> 4 + 0.6*(10-4) = 7.6; rank 3.96 -> 4 + 0.96*6 = 9.76
        assertThat(s.percentile(90)).isCloseTo(7.6, within(1e-12));
        assertThat(s.percentile(99)).isCloseTo(9.76, within(1e-12));
    }

    @Test
    void singleSampleIsEveryStatistic() {
        Summary s = Summary.of(new double[] {7.5}, List.of(99.0));
        assertThat(s.mean()).isEqualTo(7.5);
        assertThat(s.median()).isEqualTo(7.5);
        assertThat(s.std()).isZero();
        assertThat(s.percentile(99)).isEqualTo(7.5);
    }

    @Test
    void emptySamplesSummarizeToZeros() {
        Summary s = Summary.of(new double[0], List.of(50.0, 99.0));
        assertThat(s.count()).isZero();
        assertThat(s.mean()).isZero();
        assertThat(s.median()).isZero();
        assertThat(s.percentile(99)).isZero();
    }

    @Test
    void rejectsPercentilesOutOfRange() {
        assertThatThrownBy(() -> Summary.percentile(new double[] {1}, 101)).hasMessageContaining("[0, 100]");
        assertThatThrownBy(() -> Summary.of(new double[] {1}, List.of(99.0)).percentile(50))
                .hasMessageContaining("not computed");
    }
}
