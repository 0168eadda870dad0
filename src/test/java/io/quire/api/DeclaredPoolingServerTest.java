package io.quire.api;

import io.quire.SharedFiles;
import io.quire.KvLeakCheck;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A model whose file declares mean pooling (stories260K rewritten with {@code llama.pooling_type} 1, as
 * llama.cpp's converter writes it for a mean-pooled embedding model): {@code /v1/embeddings}, which pools
 * by the last token, refuses it rather than answer vectors the model was not trained to give; text
 * endpoints serve it as ever.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "quire.kv-cache-memory=8MB")
class DeclaredPoolingServerTest {
    private static Path modelFile;

    @LocalServerPort
    int port;
    @Autowired
    JsonMapper json;

    private final HttpClient http = HttpClient.newHttpClient();

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("quire.model", () -> meanPooled().toString());
    }

    @BeforeAll
    static void requireModel() {
        SharedFiles.stories260K();
    }

    static synchronized Path meanPooled() {
        if (modelFile != null) return modelFile;
        try {
            Path dir = Files.createTempDirectory("quire-pooling");
            modelFile = io.quire.model.TinyModels.stories260KWithPooling(dir.resolve("mean.gguf"), 1);
            modelFile.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            return modelFile;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void embeddingsAreRefusedNamingTheDeclaredPoolingAndTextStillWorks() throws Exception {
        HttpResponse<String> r = post("/v1/embeddings", "{\"input\": \"Once upon a time\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode e = json.readTree(r.body()).get("error");
        assertThat(e.get("param").asString()).isEqualTo("model");
        assertThat(e.get("message").asString()).contains("declare mean pooling");
        HttpResponse<String> text = post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 2}");
        assertThat(text.statusCode()).as(text.body()).isEqualTo(200);
    }
}
