package io.quire.containers;

import com.github.dockerjava.api.command.InspectContainerResponse;
import io.quire.SharedFiles;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;

import static org.awaitility.Awaitility.await;

/**
 * The Quire image serving stories260K from the shared models folder, mounted read-only at
 * /models, on the host's network (no bridge here) at a free port given as {@code SERVER_PORT}.
 * It counts as started when Docker calls it healthy: the image's own HEALTHCHECK on /health.
 */
final class QuireContainer extends GenericContainer<QuireContainer> {
    static final String MODEL = "stories260K";
    private final int port;

    QuireContainer() {
        super(DockerImageName.parse(LocalImages.QUIRE));
        Path models = SharedFiles.stories260K().getParent();
        port = freePort();
        withNetworkMode("host");
        withEnv("SERVER_PORT", Integer.toString(port));
        withEnv("QUIRE_MODEL", "/models/" + MODEL + ".gguf");
        withFileSystemBind(models.toString(), "/models", BindMode.READ_ONLY);
        withLogConsumer(frame -> System.out.print("[quire] " + frame.getUtf8String()));
        waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)));
    }

    int port() { return port; }

    String baseUrl() { return "http://127.0.0.1:" + port; }

    /** Sends SIGTERM as {@code docker stop} does and waits up to {@code limit} for the exit code. */
    long terminate(Duration limit) {
        getDockerClient().killContainerCmd(getContainerId()).withSignal("SIGTERM").exec();
        await().atMost(limit).pollInterval(Duration.ofMillis(200)).until(() -> !state().getRunning());
        return state().getExitCodeLong();
    }

    private InspectContainerResponse.ContainerState state() {
        return getDockerClient().inspectContainerCmd(getContainerId()).exec().getState();
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
