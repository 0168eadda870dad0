package io.quire.model.hub;

import io.quire.SharedFiles;
import io.quire.backend.TensorType;
import io.quire.model.HfCheckpoints;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code quire.model=Org/Name} on a repository without GGUF files: the server pulls the safetensors
 * checkpoint from the Hub (the local stand-in), serves the snapshot folder as {@code Org/Name}, and
 * answers with llama.cpp's greedy continuation of stories260K.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "quire.kv-cache-memory=16MB")
class HubCheckpointServerTest {
    static final FakeHub HUB;
    static final Path HOME;

    static {
        try {
            Path source = Files.createTempDirectory("quire-hf-source");
            Path dir = HfCheckpoints.write(SharedFiles.stories260K(), source.resolve("ckpt"), TensorType.BF16, 2,
                    null);
            List<FakeHub.File> files = new ArrayList<>();
            try (Stream<Path> list = Files.list(dir)) {
                for (Path p : list.sorted().toList()) {
                    files.add(new FakeHub.File(p.getFileName().toString(), Files.readAllBytes(p)));
                }
            }
            files.add(new FakeHub.File("pytorch_model.bin", new byte[1024]));
            HUB = new FakeHub();
            HUB.add(HubCheckpointPullTest.REPO, HubCheckpointPullTest.COMMIT, files.toArray(FakeHub.File[]::new));
            HOME = Files.createTempDirectory("quire-hf-home");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry registry) {
        registry.add("quire.model", () -> HubCheckpointPullTest.REPO);
        registry.add("HF_ENDPOINT", HUB::endpoint);
        registry.add("HF_HOME", HOME::toString);
    }

    @AfterAll
    static void stop() {
        HUB.close();
    }

    @LocalServerPort
    int port;
    @Autowired
    JsonMapper json;

    @Test
    void servesTheSnapshotFolderUnderItsRepositoryId() throws Exception {
        ServedStories.assertServedAs(port, json, HubCheckpointPullTest.REPO);
        Path snapshot = HOME.resolve("hub/models--quire-test--stories260K-hf/snapshots/")
                .resolve(HubCheckpointPullTest.COMMIT);
        assertThat(snapshot.resolve("model-00002-of-00002.safetensors")).exists();
        assertThat(snapshot.resolve("pytorch_model.bin")).doesNotExist();
    }
}
