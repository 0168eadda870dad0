package io.quire.containers;

import org.testcontainers.DockerClientFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * Whether the containers tests can run: a Docker engine must answer. Without one they fail in CI
 * ({@code CI=true}: .ci/run starts one with config/docker-engine.sh, so a missing engine is a
 * broken setup) and are skipped elsewhere, saying how to get one.
 *
 * <p>It also tells Testcontainers which API version to speak. Testcontainers 2 asks for API 1.44
 * unless told otherwise, which Docker 20.10 (Debian 12's docker.io, API 1.41) refuses, while
 * Docker 29 refuses anything below 1.44; so the engine's own version, from {@code GET /version}
 * on its socket, becomes docker-java's {@code api.version}.
 */
final class DockerEngine {
    private static final Path SOCKET = Path.of("/var/run/docker.sock");
    private static final String HOW = "start one with `sudo config/docker-engine.sh` (docs/containers.md)";
    private static final Pattern API_VERSION = Pattern.compile("\"ApiVersion\"\\s*:\\s*\"([0-9.]+)\"");
    private static String problem;
    private static boolean checked;

    private DockerEngine() {}

    /**
     * True when an engine answers. Otherwise false, so a class's setup can leave its tests to
     * {@link #require()}, which skips each with the reason (an abort in {@code @BeforeAll} would
     * only hide them); with {@code CI=true} it fails instead.
     */
    static synchronized boolean available() {
        if (!checked) {
            problem = problem();
            checked = true;
        }
        if (problem != null && "true".equalsIgnoreCase(System.getenv("CI"))) fail("CI=true and " + problem + "; " + HOW);
        return problem == null;
    }

    /** Returns when an engine answers; otherwise fails (CI) or aborts (skips) the calling test. */
    static void require() {
        if (!available()) abort("skipped: " + problem + "; " + HOW);
    }

    private static String problem() {
        String host = System.getenv("DOCKER_HOST");
        if ((host == null || host.isBlank()) && System.getProperty("api.version") == null) {
            if (!Files.exists(SOCKET)) return "no Docker engine: " + SOCKET + " does not exist";
            try {
                System.setProperty("api.version", apiVersion());
            } catch (IOException e) {
                return "no Docker engine answers on " + SOCKET + " (" + e.getMessage() + ")";
            }
        }
        if (!DockerClientFactory.instance().isDockerAvailable()) return "Testcontainers finds no usable Docker engine";
        return null;
    }

    /** The engine's API version, from a plain HTTP/1.0 {@code GET /version} on its Unix socket. */
    private static String apiVersion() throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(SOCKET));
            channel.write(ByteBuffer.wrap("GET /version HTTP/1.0\r\nHost: docker\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            try (InputStream in = Channels.newInputStream(channel)) {
                String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                Matcher m = API_VERSION.matcher(answer);
                if (!m.find()) throw new IOException("GET /version answered without an ApiVersion");
                return m.group(1);
            }
        }
    }
}
