package io.quire.containers;

import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;

/**
 * Prometheus from the offline image (Debian's binary), on the host's network at a free port,
 * scraping the Quire at {@code quirePort} with config/prometheus.yml: the project's file with only
 * its target's port changed.
 */
final class PrometheusContainer extends GenericContainer<PrometheusContainer> {
    private final int port = QuireContainer.freePort();

    PrometheusContainer(int quirePort) throws IOException {
        super(DockerImageName.parse(LocalImages.PROMETHEUS));
        withNetworkMode("host");
        withCopyToContainer(Transferable.of(scrapeConfig(quirePort)), "/etc/prometheus/prometheus.yml");
        withCommand("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus",
                "--web.listen-address=127.0.0.1:" + port);
        withLogConsumer(frame -> System.out.print("[prometheus] " + frame.getUtf8String()));
        waitingFor(Wait.forLogMessage(".*Server is ready to receive web requests.*", 1)
                .withStartupTimeout(Duration.ofMinutes(1)));
    }

    String url() { return "http://127.0.0.1:" + port; }

    /** config/prometheus.yml aimed at {@code quirePort}; fails if the file no longer names :8000. */
    static String scrapeConfig(int quirePort) throws IOException {
        String config = Files.readString(Commands.ROOT.resolve("config/prometheus.yml"));
        String target = "\"127.0.0.1:8000\"";
        if (!config.contains(target)) throw new IllegalStateException("config/prometheus.yml no longer scrapes " + target);
        return config.replace(target, "\"127.0.0.1:" + quirePort + "\"");
    }
}
