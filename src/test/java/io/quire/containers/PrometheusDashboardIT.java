package io.quire.containers;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Prometheus in a container scraping the Quire image: after traffic, every PromQL expression of the
 * Grafana dashboard returns data from Prometheus's HTTP API, so the dashboard matches the metrics.
 */
@Tag("containers")
@Tag("slow")
class PrometheusDashboardIT {
    /** Far longer than a quiet machine needs (about 15 s): CI shares its cores with other jobs. */
    private static final Duration LIMIT = Duration.ofSeconds(240);
    private static QuireContainer quire;
    private static PrometheusContainer prometheus;

    @BeforeAll
    static void start() throws Exception {
        if (!DockerEngine.available()) return; // each test skips, saying why
        LocalImages.build();
        quire = new QuireContainer();
        quire.start();
        prometheus = new PrometheusContainer(quire.port());
        prometheus.start();
    }

    @BeforeEach
    void engine() {
        DockerEngine.require();
    }

    @AfterAll
    static void stop() {
        if (prometheus != null) prometheus.stop();
        if (quire != null) quire.stop();
    }

    @Test
    void everyDashboardQueryReturnsDataAfterTraffic() throws Exception {
        assertThat(DashboardQueries.expressions()).hasSizeGreaterThanOrEqualTo(10);
        assertAllQueriesAnswer(quire.baseUrl(), prometheus.url());
    }

    /**
     * Keeps streams running while it waits (rates and quantiles need two scrapes of traffic). A
     * round that fails or outlives its limit is counted and the load goes on, so one lost stream
     * cannot silence the histograms; the failure message says what the load saw.
     */
    static void assertAllQueriesAnswer(String quireUrl, String prometheusUrl) {
        AtomicReference<Map<String, String>> missing = new AtomicReference<>(Map.of());
        AtomicInteger rounds = new AtomicInteger();
        AtomicInteger failedRounds = new AtomicInteger();
        AtomicReference<String> lastFailure = new AtomicReference<>("none");
        Thread load = Thread.ofPlatform().daemon().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Traffic.concurrent(quireUrl, 4, 24, Duration.ofSeconds(60));
                    rounds.incrementAndGet();
                } catch (InterruptedException stopped) {
                    return; // the test is over
                } catch (Exception e) {
                    failedRounds.incrementAndGet();
                    lastFailure.set(e.toString());
                }
            }
        });
        try {
            await().atMost(LIMIT).pollInterval(Duration.ofSeconds(3)).ignoreExceptions()
                    .until(() -> {
                        missing.set(DashboardQueries.withoutData(prometheusUrl));
                        return missing.get().isEmpty();
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("dashboard queries without data after " + LIMIT.toSeconds() + " s of traffic (" + rounds.get()
                    + " rounds of 4 streams completed, " + failedRounds.get() + " failed, the last with "
                    + lastFailure.get() + "): " + missing.get(), e);
        } finally {
            load.interrupt();
        }
    }
}
