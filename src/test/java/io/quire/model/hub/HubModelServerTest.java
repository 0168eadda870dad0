package io.quire.model.hub;

import io.quire.SharedFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
        HttpClient http = HttpClient.newHttpClient();
        URI base = URI.create("http://localhost:" + port);
        JsonNode models = json.readTree(http.send(HttpRequest.newBuilder(base.resolve("/v1/models")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        assertThat(models.get("data").get(0).get("id").asString()).isEqualTo(HubPullTest.REPO);
        String body = """
                {"model": "%s", "prompt": "Once upon a time", "max_tokens": 32, "temperature": 0}"""
                .formatted(HubPullTest.REPO);
        JsonNode r = json.readTree(http.send(HttpRequest.newBuilder(base.resolve("/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        assertThat(r.get("choices").get(0).get("text").asString()).isEqualTo(
                ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw");
        Path link = HOME.resolve("hub/models--quire-test--stories260K-GGUF/snapshots/" + HubPullTest.COMMIT
                + "/stories260K.gguf");
        assertThat(Files.isSymbolicLink(link)).isTrue();
    }
}
