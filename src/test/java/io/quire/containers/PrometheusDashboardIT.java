package io.quire.containers;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
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

    /** Keeps streams running while it waits (rates and quantiles need two scrapes of traffic). */
    static void assertAllQueriesAnswer(String quireUrl, String prometheusUrl) {
        AtomicReference<Map<String, String>> missing = new AtomicReference<>(Map.of());
        Thread load = Thread.ofPlatform().daemon().start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) Traffic.concurrent(quireUrl, 4, 24);
            } catch (RuntimeException stopped) {
                // the server went away at the end of the test
            }
        });
        try {
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(3)).ignoreExceptions()
                    .until(() -> {
                        missing.set(DashboardQueries.withoutData(prometheusUrl));
                        return missing.get().isEmpty();
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("dashboard queries without data after 120 s of traffic: " + missing.get(), e);
        } finally {
            load.interrupt();
        }
    }
}
