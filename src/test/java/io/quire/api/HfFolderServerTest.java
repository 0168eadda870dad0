package io.quire.api;

import io.quire.KvLeakCheck;
import io.quire.SharedFiles;
import io.quire.api.template.ChatTemplate;
import io.quire.backend.TensorType;
import io.quire.engine.LLMEngine;
import io.quire.model.HfCheckpoints;
import org.junit.jupiter.api.AfterAll;
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
import java.util.Comparator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server on a Hugging Face folder (stories260K written out as BF16 safetensors in two shards,
 * with tokenizer.json, a chat template in tokenizer_config.json and a generation_config.json): it
 * serves the folder under its name, chats with the folder's template, completes greedily as
 * llama.cpp does, and takes the sampling defaults and extra EOS ids of generation_config.json.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "quire.kv-cache-memory=8MB")
class HfFolderServerTest {
    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}";
    private static Path root;

    @LocalServerPort
    int port;
    @Autowired
    JsonMapper json;
    @Autowired
    ChatTemplate template;
    @Autowired
    LLMEngine engine;

    private final HttpClient http = HttpClient.newHttpClient();

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("quire.model", () -> folder().toString());
    }

    @BeforeAll
    static void requireModel() {
        SharedFiles.stories260K();
    }

    static synchronized Path folder() {
        if (root != null) return root.resolve("stories-hf");
        try {
            root = Files.createTempDirectory("quire-hf-folder-");
            Path dir = HfCheckpoints.write(SharedFiles.root().resolve("models/stories260K.gguf"),
                    root.resolve("stories-hf"), TensorType.BF16, 2, TEMPLATE);
            // Greedy unless a request says otherwise; ',' (432, the reference's first token) ends generation.
            Files.writeString(dir.resolve("generation_config.json"),
                    "{\"do_sample\": false, \"temperature\": 0.0, \"top_k\": 5, \"eos_token_id\": [2, 432]}");
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static void deleteFolder() throws IOException {
        if (root == null) return;
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    private JsonNode post(String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json.readTree(r.body());
    }

    @Test
    void servesTheFolderUnderItsName() {
        assertThat(engine.modelName()).isEqualTo("stories-hf");
        assertThat(template.source()).isEqualTo(TEMPLATE);
    }

    @Test
    void chatCompletesWithTheFoldersTemplate() throws Exception {
        JsonNode chat = post("/v1/chat/completions", """
                {"model": "stories-hf", "messages": [{"role": "user", "content": "Once upon a time"}],
                 "max_tokens": 32, "temperature": 0, "ignore_eos": true}""");
        // The template renders <s>Once upon a time: the same prompt, so llama.cpp's reference continuation.
        assertThat(chat.get("usage").get("prompt_tokens").asInt()).isEqualTo(5);
        assertThat(chat.at("/choices/0/message/content").asString())
                .isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, "
                        + "she saw");
    }

    @Test
    void generationConfigGivesTheDefaultsAndRequestsOverrideThem() throws Exception {
        // No temperature sent: generation_config's 0 (greedy), and its second EOS id ends at once.
        JsonNode stopped = post("/v1/completions", """
                {"model": "stories-hf", "prompt": "Once upon a time", "max_tokens": 32}""");
        assertThat(stopped.at("/choices/0/finish_reason").asString()).isEqualTo("stop");
        assertThat(stopped.at("/choices/0/text").asString()).isEmpty();
        // ignore_eos lifts it as it lifts EOS; still greedy by default, so llama.cpp's continuation.
        JsonNode greedy = post("/v1/completions", """
                {"model": "stories-hf", "prompt": "Once upon a time", "max_tokens": 32, "ignore_eos": true}""");
        assertThat(greedy.at("/choices/0/text").asString())
                .isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, "
                        + "she saw");
        // A request's own temperature wins: seeded sampling at 1.5 leaves the greedy path.
        JsonNode sampled = post("/v1/completions", """
                {"model": "stories-hf", "prompt": "Once upon a time", "max_tokens": 32, "ignore_eos": true,
                 "temperature": 1.5, "top_k": 0, "seed": 7}""");
        assertThat(sampled.at("/choices/0/text").asString()).isNotEqualTo(greedy.at("/choices/0/text").asString());
    }
}
