package io.quire.cli;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KvTraceTest {

    @Test
    void shareGptLikeIsSeededAndWithinTheLimits() {
        KvTrace a = KvTrace.shareGptLike(3, 500, 1.0, 2048, Double.POSITIVE_INFINITY);
        KvTrace b = KvTrace.shareGptLike(3, 500, 1.0, 2048, Double.POSITIVE_INFINITY);
        assertThat(a).isEqualTo(b);
        assertThat(KvTrace.shareGptLike(4, 500, 1.0, 2048, Double.POSITIVE_INFINITY)).isNotEqualTo(a);
        assertThat(a.items()).hasSize(500).allSatisfy(it -> {
            assertThat(it.promptLen()).isBetween(4, 1024);
            assertThat(it.outputLen()).isGreaterThanOrEqualTo(4);
            assertThat(it.promptLen() + it.outputLen()).isLessThanOrEqualTo(2048);
            assertThat(it.arrivalSeconds()).isZero();
        });
        // Means near the paper's ShareGPT means (161 in, 338 out), a little lower after rejecting the tail.
        assertThat(a.meanPromptLen()).isBetween(120.0, 180.0);
        assertThat(a.meanOutputLen()).isBetween(280.0, 360.0);
        KvTrace half = KvTrace.shareGptLike(3, 500, 0.5, 2048, Double.POSITIVE_INFINITY);
        assertThat(half.meanOutputLen()).isBetween(140.0, 190.0);
    }

    @Test
    void uniformAndPoissonArrivals() {
        KvTrace t = KvTrace.uniform(1, 300, 10, 20, 5, 7, 64, 10.0);
        assertThat(t.items()).allSatisfy(it -> {
            assertThat(it.promptLen()).isBetween(10, 20);
            assertThat(it.outputLen()).isBetween(5, 7);
        });
        for (int i = 1; i < t.items().size(); i++) {
            assertThat(t.items().get(i).arrivalSeconds()).isGreaterThan(t.items().get(i - 1).arrivalSeconds());
        }
        // 300 arrivals at 10/s take about 30 s.
        assertThat(t.items().getLast().arrivalSeconds()).isBetween(20.0, 40.0);
        assertThat(t.totalOutputTokens()).isEqualTo(t.items().stream().mapToInt(KvTrace.Item::outputLen).sum());
        assertThatThrownBy(() -> KvTrace.uniform(1, 3, 10, 60, 5, 7, 64, 1))
                .hasMessageContaining("exceeds the max model length");
    }

    @Test
    void theRateChangesArrivalsNotLengths() {
        KvTrace burst = KvTrace.shareGptLike(9, 50, 0.5, 1024, Double.POSITIVE_INFINITY);
        KvTrace poisson = KvTrace.shareGptLike(9, 50, 0.5, 1024, 4.0);
        for (int i = 0; i < 50; i++) {
            assertThat(poisson.items().get(i).promptLen()).isEqualTo(burst.items().get(i).promptLen());
            assertThat(poisson.items().get(i).outputLen()).isEqualTo(burst.items().get(i).outputLen());
        }
        assertThat(poisson.items().getLast().arrivalSeconds()).isPositive();
    }
}
