package io.quire.api;

import io.quire.KvLeakCheck;
import io.quire.SharedFiles;
import io.quire.api.template.ChatTemplate;
import io.quire.backend.Tensor;
import io.quire.engine.LLMEngine;
import io.quire.model.gguf.GgufFile;
import io.quire.model.gguf.GgufMetadata;
import io.quire.model.gguf.GgufWriter;
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
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A model file that carries {@code tokenizer.chat_template} (stories260K rewritten with one): the
 * server renders chats with it, writes BOS once, and parses the control tokens it writes.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "quire.kv-cache-memory=8MB")
class ModelChatTemplateServerTest {
    static final String TEMPLATE = "{{ bos_token }}{% if documents %}{% for d in documents %}[{{ d['title'] }}]"
            + "{% endfor %}{% endif %}{% for m in messages %}"
            + "{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}{% endfor %}"
            + "{% if add_generation_prompt %}assistant:{% endif %}";
    private static Path modelFile;

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
        registry.add("quire.model", () -> modelWithTemplate().toString());
    }

    @BeforeAll
    static void requireModel() {
        SharedFiles.stories260K();
    }

    /** stories260K with a chat template added to its metadata; tensors copied as stored. */
    static synchronized Path modelWithTemplate() {
        if (modelFile != null) return modelFile;
        try (GgufFile in = GgufFile.open(SharedFiles.root().resolve("models/stories260K.gguf"))) {
            GgufWriter out = new GgufWriter();
            for (Map.Entry<String, GgufMetadata.Entry> e : in.metadata().entries().entrySet()) {
                out.put(e.getKey(), e.getValue());
            }
            out.putString("tokenizer.chat_template", TEMPLATE);
            for (String name : in.tensorInfos().keySet()) {
                Tensor t = in.tensor(name);
                out.addTensor(name, t.type(), t.shape(), t.data());
            }
            modelFile = Files.createTempFile("quire-templated-", ".gguf");
            out.write(modelFile);
            return modelFile;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static void deleteModel() throws IOException {
        if (modelFile != null) Files.deleteIfExists(modelFile);
    }

    private JsonNode post(String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json.readTree(r.body());
    }

    @Test
    void chatUsesTheModelsTemplate() throws Exception {
        assertThat(template.source()).isEqualTo(TEMPLATE);
        String messages = "[{\"role\": \"user\", \"content\": \"Once upon a time\"}]";
        JsonNode tokens = post("/tokenize", "{\"messages\": " + messages + "}");
        JsonNode plain = post("/tokenize", "{\"prompt\": \"user: Once upon a time\", \"add_special_tokens\": false}");
        JsonNode tail = post("/tokenize", "{\"prompt\": \"assistant:\", \"add_special_tokens\": false}");
        // <s> from the template is the one BOS; </s> written as text is the EOS control token.
        StringBuilder expected = new StringBuilder("[1");
        for (JsonNode t : plain.get("tokens")) expected.append(',').append(t.asInt());
        expected.append(",2");
        for (JsonNode t : tail.get("tokens")) expected.append(',').append(t.asInt());
        expected.append(']');
        assertThat(json.writeValueAsString(tokens.get("tokens"))).isEqualTo(expected.toString());

        JsonNode chat = post("/v1/chat/completions", """
                {"model": "quire-templated", "messages": %s, "max_tokens": 4, "temperature": 0, "ignore_eos": true}"""
                .formatted(messages).replace("quire-templated", engine.modelName()));
        assertThat(chat.get("usage").get("prompt_tokens").asInt()).isEqualTo(tokens.get("count").asInt());
        assertThat(chat.get("usage").get("completion_tokens").asInt()).isEqualTo(4);
    }

    @Test
    void documentsReachTheTemplateAndChatTemplateKwargsOverrideThem() throws Exception {
        String body = """
                {"messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 1%s}""";
        int none = promptTokens(body.formatted(""));
        int one = promptTokens(body.formatted(", \"documents\": [{\"title\": \"Lily\", \"text\": \"A girl.\"}]"));
        int two = promptTokens(body.formatted(", \"documents\": [{\"title\": \"Lily\"}, {\"title\": \"Tom\"}]"));
        assertThat(one).isGreaterThan(none);
        assertThat(two).isGreaterThan(one);
        // as vLLM: chat_template_kwargs come last
        int overridden = promptTokens(body.formatted(", \"documents\": [{\"title\": \"Lily\"}],"
                + " \"chat_template_kwargs\": {\"documents\": [{\"title\": \"Lily\"}, {\"title\": \"Tom\"}]}"));
        assertThat(overridden).isEqualTo(two);
    }

    private int promptTokens(String body) throws Exception {
        return post("/v1/chat/completions", body).get("usage").get("prompt_tokens").asInt();
    }
}
