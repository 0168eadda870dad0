package io.quire.model.hub;

import io.quire.SharedFiles;
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

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code quire.model=Org/Name}: the server downloads the repository's GGUF file from the Hub (the
 * local stand-in) into the Hugging Face cache before it starts, serves it as {@code Org/Name}, and
 * answers with llama.cpp's greedy continuation of stories260K.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "quire.kv-cache-memory=16MB")
class HubModelServerTest {
    static final FakeHub HUB;
    static final Path HOME;

    static {
        try {
            HUB = new FakeHub();
            HUB.add(HubPullTest.REPO, HubPullTest.COMMIT,
                    new FakeHub.File("stories260K.gguf", Files.readAllBytes(SharedFiles.stories260K())));
            HOME = Files.createTempDirectory("quire-hf-home");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @DynamicPropertySource
    static void hub(DynamicPropertyRegistry registry) {
        registry.add("quire.model", () -> HubPullTest.REPO);
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
    void servesTheDownloadedFileUnderItsRepositoryId() throws Exception {
        ServedStories.assertServedAs(port, json, HubPullTest.REPO);
        Path link = HOME.resolve("hub/models--quire-test--stories260K-GGUF/snapshots/" + HubPullTest.COMMIT
                + "/stories260K.gguf");
        assertThat(Files.isSymbolicLink(link)).isTrue();
    }
}
