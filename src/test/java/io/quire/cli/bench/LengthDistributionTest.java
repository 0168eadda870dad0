package io.quire.cli.bench;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class LengthDistributionTest {

    @Test
    void uniformLengthsStayWithinTheRangeAndReachBothEnds() {
        UniformLengths u = new UniformLengths(100, 10, 0.25);
        Random rng = new Random(3);
        int minIn = Integer.MAX_VALUE, maxIn = 0, minOut = Integer.MAX_VALUE, maxOut = 0;
        for (int i = 0; i < 20_000; i++) {
            Lengths l = u.sample(rng);
            minIn = Math.min(minIn, l.input());
            maxIn = Math.max(maxIn, l.input());
            minOut = Math.min(minOut, l.output());
            maxOut = Math.max(maxOut, l.output());
        }
        // vLLM: randint(int(100*0.75), int(100*1.25) + 1) -> [75, 125]; [7, 12] for 10
        assertThat(minIn).isEqualTo(75);
        assertThat(maxIn).isEqualTo(125);
        assertThat(minOut).isEqualTo(7);
        assertThat(maxOut).isEqualTo(12);
    }

    @Test
    void ratioZeroIsFixedAndLengthsNeverDropBelowOne() {
        Random rng = new Random(1);
        for (int i = 0; i < 100; i++) {
            assertThat(new UniformLengths(33, 5, 0).sample(rng)).isEqualTo(new Lengths(33, 5));
            Lengths tiny = new UniformLengths(1, 1, 0.9).sample(rng);
            assertThat(tiny.input()).isBetween(1, 1);
            assertThat(tiny.output()).isBetween(1, 1);
        }
    }

    @Test
    void uniformRejectsBadParameters() {
        assertThatThrownBy(() -> new UniformLengths(0, 1, 0)).hasMessageContaining("input length");
        assertThatThrownBy(() -> new UniformLengths(1, 1, 1.0)).hasMessageContaining("range ratio");
    }

    @Test
    void shareGptLikeLengthsRespectVllmsFilters() {
        ShareGptLikeLengths s = ShareGptLikeLengths.standard(2048, 0);
        Random rng = new Random(11);
        for (int i = 0; i < 50_000; i++) {
            Lengths l = s.sample(rng);
            assertThat(l.input()).isBetween(4, 1024);
            assertThat(l.output()).isGreaterThanOrEqualTo(4);
            assertThat(l.input() + l.output()).isLessThanOrEqualTo(2048);
        }
        ShareGptLikeLengths small = ShareGptLikeLengths.standard(256, 0);
        for (int i = 0; i < 10_000; i++) {
            Lengths l = small.sample(rng);
            assertThat(l.input()).isBetween(4, 128);
            assertThat(l.input() + l.output()).isLessThanOrEqualTo(256);
        }
    }

    @Test
    void shareGptLikeMeansMatchThePaperWhenNothingIsTruncated() {
        ShareGptLikeLengths s = ShareGptLikeLengths.standard(1 << 30, 0);
        Random rng = new Random(5);
        int n = 200_000;
        double in = 0, out = 0;
        int inBelowMean = 0;
        for (int i = 0; i < n; i++) {
            Lengths l = s.sample(rng);
            in += l.input();
            out += l.output();
            if (l.input() < ShareGptLikeLengths.INPUT_MEAN) inBelowMean++;
        }
        assertThat(in / n).isCloseTo(161.31, within(161.31 * 0.03));
        assertThat(out / n).isCloseTo(337.99, within(337.99 * 0.03));
        // a lognormal with sigma 1 has its mean at the 69th percentile (a heavy right tail)
        assertThat((double) inBelowMean / n).isCloseTo(0.69, within(0.02));
    }

    @Test
    void shareGptLikeFixedOutput() {
        ShareGptLikeLengths s = ShareGptLikeLengths.standard(2048, 100);
        Random rng = new Random(2);
        for (int i = 0; i < 1000; i++) assertThat(s.sample(rng).output()).isEqualTo(100);
        assertThatThrownBy(() -> ShareGptLikeLengths.standard(2048, 2045)).hasMessageContaining("output length");
    }
}
