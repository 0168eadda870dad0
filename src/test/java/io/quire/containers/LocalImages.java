package io.quire.containers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The images the containers tests run, all built here without a registry: the bases from
 * config/offline-images.sh (a jlink'd Java 25 runtime, Debian's Prometheus), and the Quire image
 * from config/Dockerfile on that base with the jar this build just packaged.
 */
final class LocalImages {
    static final String JRE = "quire-jre:25";
    static final String PROMETHEUS = "quire-prometheus:local";
    static final String QUIRE = "quire:it";
    static final Path JAR = Commands.ROOT.resolve("target/quire-0.1.0-SNAPSHOT.jar");
    private static volatile boolean built;

    private LocalImages() {}

    /** Builds the base images if missing and the Quire image from the current jar, once per run. */
    static synchronized void build() {
        DockerEngine.require();
        if (built) return;
        if (!Files.exists(JAR)) fail(JAR + " is missing: the containers tests run after `package` (./mvnw verify)");
        Commands.run(List.of("bash", "config/offline-images.sh"), Map.of(), 600);
        String previous = imageId(QUIRE);
        Commands.run(List.of("docker", "build", "-q", "-f", "config/Dockerfile", "--build-arg", "BASE=" + JRE,
                "-t", QUIRE, "."), Map.of(), 600);
        // The last run's image, now untagged, would stay behind (150 MB a run); one still in use stays.
        if (previous != null && !previous.equals(imageId(QUIRE))) Commands.succeeds(List.of("docker", "rmi", previous));
        built = true;
    }

    private static String imageId(String image) {
        try {
            return Commands.run(List.of("docker", "image", "inspect", "-f", "{{.Id}}", image), Map.of(), 60).strip();
        } catch (IllegalStateException absent) {
            return null;
        }
    }
}
