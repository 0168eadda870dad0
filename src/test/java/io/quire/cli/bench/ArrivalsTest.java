package io.quire.cli.bench;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ArrivalsTest {

    @Test
    void gapsAreExponentialWithMeanOneOverRate() {
        int n = 200_000;
        double rate = 4.0;
        double[] at = Arrivals.poisson(n, rate, 42);
        assertThat(at[0]).isZero();
        double sum = 0;
        int aboveMean = 0;
        for (int i = 1; i < n; i++) {
            double gap = at[i] - at[i - 1];
            assertThat(gap).isGreaterThanOrEqualTo(0);
            sum += gap;
            if (gap > 1 / rate) aboveMean++;
        }
        double meanGap = sum / (n - 1);
        // standard error of the mean is (1/rate)/sqrt(n) ~ 0.2%: 1% is far outside chance
        assertThat(meanGap).isCloseTo(1 / rate, within(0.01 / rate));
        // an exponential gap exceeds its mean with probability e^-1 (a uniform one would give 1/2)
        assertThat((double) aboveMean / (n - 1)).isCloseTo(Math.exp(-1), within(0.005));
    }

    @Test
    void burstinessKeepsTheMeanAndSetsTheSpread() {
        // gamma gaps of shape b and scale 1/(rate*b): mean 1/rate, variance 1/(b*rate^2)
        int n = 200_000;
        double rate = 2.0;
        for (double b : new double[] {0.5, 1.0, 4.0}) {
            double[] at = Arrivals.gamma(n, rate, b, 13);
            double sum = 0, sq = 0;
            for (int i = 1; i < n; i++) {
                double gap = at[i] - at[i - 1];
                assertThat(gap).isGreaterThanOrEqualTo(0);
                sum += gap;
                sq += gap * gap;
            }
            double mean = sum / (n - 1);
            double var = sq / (n - 1) - mean * mean;
            assertThat(mean).as("mean gap, b=" + b).isCloseTo(1 / rate, within(0.01 / rate));
            assertThat(var).as("gap variance, b=" + b)
                    .isCloseTo(1 / (b * rate * rate), within(0.05 / (b * rate * rate)));
        }
        assertThatThrownBy(() -> Arrivals.gamma(3, 1, 0, 1)).hasMessageContaining("burstiness");
    }

    @Test
    void sameSeedSameArrivalsOtherSeedOthers() {
        assertThat(Arrivals.poisson(100, 2, 7)).containsExactly(Arrivals.poisson(100, 2, 7));
        assertThat(Arrivals.poisson(100, 2, 7)).isNotEqualTo(Arrivals.poisson(100, 2, 8));
    }

    @Test
    void infiniteRateSendsEverythingAtOnce() {
        assertThat(Arrivals.poisson(5, Double.POSITIVE_INFINITY, 1)).containsOnly(0.0);
    }

    @Test
    void rejectsNonPositiveRates() {
        assertThatThrownBy(() -> Arrivals.poisson(5, 0, 1)).hasMessageContaining("request rate");
        assertThatThrownBy(() -> Arrivals.poisson(5, Double.NaN, 1)).hasMessageContaining("request rate");
    }
}
