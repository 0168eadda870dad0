package io.quire.api;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import io.quire.KvLeakCheck;
import io.quire.SharedFiles;
import io.quire.backend.TensorType;
import io.quire.model.HfCheckpoints;
import io.quire.model.PeftAdapters;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * stories260K served with two LoRA adapters ({@code quire.lora-modules}), as vLLM serves
 * {@code --lora-modules}: a request's {@code model} picks the base or an adapter, whose greedy tokens
 * are those of the model with that adapter merged into its weights (computed without the server);
 * {@code /v1/models} lists the adapters under the model; the prefix cache never hands one adapter's
 * KV to another; an unknown name is a 404.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "quire.kv-cache-memory=8MB")
class LoraServerTest {
    private static Path dir, all, attention;
    private static Path mergedAll, mergedAttention;

    @LocalServerPort
    int port;
    @Autowired
    JsonMapper json;

    private final HttpClient http = HttpClient.newHttpClient();

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        fixtures();
        registry.add("quire.model", () -> SharedFiles.stories260K().toString());
        registry.add("quire.lora-modules", () -> "storyteller=" + all + ",attentive=" + attention);
    }

    @BeforeAll
    static void requireModel() {
        SharedFiles.stories260K();
    }

    /** Two adapters of stories260K (all seven projections; attention only) and the models they merge into. */
    static synchronized void fixtures() {
        if (dir != null) return;
        try {
            dir = Files.createTempDirectory("quire-lora");
            dir.toFile().deleteOnExit();
            Path hf = HfCheckpoints.write(SharedFiles.stories260K(), dir.resolve("hf"), TensorType.F32, 1, null);
            all = dir.resolve("storyteller");
            attention = dir.resolve("attentive");
            mergedAll = PeftAdapters.merge(hf, PeftAdapters.write(hf, all, PeftAdapters.ALL, 4, 8, 0.12f, 1),
                    dir.resolve("merged-all"));
            mergedAttention = PeftAdapters.merge(hf, PeftAdapters.write(hf, attention,
                    List.of("q_proj", "k_proj", "v_proj", "o_proj"), 8, 8, 0.1f, 2), dir.resolve("merged-attention"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private JsonNode complete(String model, int[] prompt, int maxTokens) throws Exception {
        String body = """
                {"model": "%s", "prompt": %s, "max_tokens": %d, "temperature": 0, "return_token_ids": true}"""
                .formatted(model, Arrays.toString(prompt), maxTokens);
        HttpResponse<String> r = post("/v1/completions", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json.readTree(r.body());
    }

    private static int[] tokenIds(JsonNode completion) {
        JsonNode ids = completion.get("choices").get(0).get("token_ids");
        return IntStream.range(0, ids.size()).map(i -> ids.get(i).asInt()).toArray();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static final int[] ONCE = {1, 403, 407, 261, 378};
    /** llama.cpp's first 12 greedy tokens after ONCE (shared/models/README.md). */
    static final int[] ONCE_REFERENCE = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338};

    @Test
    void eachAdapterGivesTheTokensOfItsMergedModelAndTheBaseItsOwn() throws Exception {
        JsonNode base = complete("stories260K", ONCE, 12);
        assertThat(tokenIds(base)).containsExactly(ONCE_REFERENCE);
        JsonNode storyteller = complete("storyteller", ONCE, 12);
        assertThat(storyteller.get("model").asString()).isEqualTo("storyteller");
        assertThat(tokenIds(storyteller)).containsExactly(PeftAdapters.greedy(mergedAll, ONCE, 12))
                .isNotEqualTo(ONCE_REFERENCE);
        assertThat(tokenIds(complete("attentive", ONCE, 12)))
                .containsExactly(PeftAdapters.greedy(mergedAttention, ONCE, 12));
    }

    @Test
    void everySampleOfARequestRunsWithItsAdapter() throws Exception {
        // n = 2 forks the request's sequence after its prompt: both forks run with the adapter

        HttpResponse<String> r = post("/v1/completions", """
                {"model": "storyteller", "prompt": %s, "max_tokens": 10, "n": 2, "temperature": 0,
                 "return_token_ids": true}""".formatted(Arrays.toString(ONCE)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode choices = json.readTree(r.body()).get("choices");
        int[] want = PeftAdapters.greedy(mergedAll, ONCE, 10);
        for (JsonNode c : choices) {
            JsonNode ids = c.get("token_ids");
            assertThat(IntStream.range(0, ids.size()).map(i -> ids.get(i).asInt()).toArray()).containsExactly(want);
        }
        // beam search forks at every step: with the adapter it runs, and does not find the base model's beam
        HttpResponse<String> beam = post("/v1/completions", """
                {"model": "storyteller", "prompt": %s, "max_tokens": 10, "n": 1, "best_of": 3,
                 "use_beam_search": true, "return_token_ids": true}""".formatted(Arrays.toString(ONCE)));
        assertThat(beam.statusCode()).as(beam.body()).isEqualTo(200);
        JsonNode base = json.readTree(post("/v1/completions", """
                {"prompt": %s, "max_tokens": 10, "n": 1, "best_of": 3, "use_beam_search": true,
                 "return_token_ids": true}""".formatted(Arrays.toString(ONCE))).body());
        assertThat(json.readTree(beam.body()).get("choices").get(0).get("token_ids"))
                .isNotEqualTo(base.get("choices").get(0).get("token_ids"));
    }

    @Test
    void cachedPrefixesAreNotSharedBetweenAdapters() throws Exception {
        int[] prompt = new int[40];  // two and a half 16-token blocks
        prompt[0] = 1;
        for (int i = 1; i < prompt.length; i++) prompt[i] = 259 + (i * 37) % 250;
        int[] wantBase = PeftAdapters.greedy(SharedFiles.stories260K(), prompt, 6);
        int[] wantAll = PeftAdapters.greedy(mergedAll, prompt, 6);
        int[] wantAttention = PeftAdapters.greedy(mergedAttention, prompt, 6);
        // each twice, after the others computed (and cached) the same prompt's blocks
        for (int round = 0; round < 2; round++) {
            assertThat(tokenIds(complete("stories260K", prompt, 6))).containsExactly(wantBase);
            assertThat(tokenIds(complete("storyteller", prompt, 6))).containsExactly(wantAll);
            assertThat(tokenIds(complete("attentive", prompt, 6))).containsExactly(wantAttention);
        }
    }

    @Test
    void adaptersAndTheBaseRunSideBySide() throws Exception {
        List<Thread> threads = new ArrayList<>();
        List<int[]> got = new ArrayList<>(List.of(new int[0], new int[0], new int[0], new int[0]));
        String[] models = {"storyteller", "stories260K", "attentive", "storyteller"};
        for (int i = 0; i < models.length; i++) {
            int k = i;
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    got.set(k, tokenIds(complete(models[k], ONCE, 16)));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        for (Thread t : threads) t.join();
        int[] all16 = PeftAdapters.greedy(mergedAll, ONCE, 16);
        assertThat(got.get(0)).containsExactly(all16);
        assertThat(got.get(1)).containsExactly(PeftAdapters.greedy(SharedFiles.stories260K(), ONCE, 16));
        assertThat(got.get(2)).containsExactly(PeftAdapters.greedy(mergedAttention, ONCE, 16));
        assertThat(got.get(3)).containsExactly(all16);
    }

    @Test
    void modelsListsTheAdaptersUnderTheModel() throws Exception {
        JsonNode list = json.readTree(http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port
                + "/v1/models")).build(), HttpResponse.BodyHandlers.ofString()).body());
        assertThat(list.get("data")).hasSize(3);
        JsonNode adapter = list.get("data").get(1);
        assertThat(adapter.get("id").asString()).isEqualTo("storyteller");
        assertThat(adapter.get("parent").asString()).isEqualTo("stories260K");
        assertThat(adapter.get("root").asString()).isEqualTo(all.toString());
        assertThat(list.get("data").get(2).get("id").asString()).isEqualTo("attentive");
        HttpResponse<String> one = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port
                + "/v1/models/attentive")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(one.statusCode()).isEqualTo(200);
    }

    @Test
    void vllmMetricsNameTheRunningAdapters() throws Exception {
        String body = """
                {"model": "attentive", "prompt": "Once", "max_tokens": 480, "stream": true, "ignore_eos": true}""";
        HttpResponse<java.util.stream.Stream<String>> stream = http.send(HttpRequest.newBuilder(
                URI.create("http://localhost:" + port + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
        try (java.util.stream.Stream<String> lines = stream.body()) {
            // a few tokens in: the request runs, and the snapshot of a step since says so
            assertThat(lines.filter(l -> l.startsWith("data:")).limit(3).count()).isEqualTo(3);
            String metrics = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/metrics"))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("# TYPE vllm:lora_requests_info gauge").containsPattern(
                    "vllm:lora_requests_info\\{max_lora=\"2\",running_lora_adapters=\"attentive\","
                            + "waiting_lora_adapters=\"\"} [0-9.E]+\n");
        }
    }

    @Test
    void anUnknownModelIsA404NamingWhatIsServed() throws Exception {
        HttpResponse<String> r = post("/v1/completions", """
                {"model": "nope", "prompt": "Once", "max_tokens": 2}""");
        assertThat(r.statusCode()).isEqualTo(404);
        JsonNode e = json.readTree(r.body()).get("error");
        assertThat(e.get("message").asString()).contains("`nope` does not exist").contains("storyteller")
                .contains("attentive");
        HttpResponse<String> chat = post("/v1/chat/completions", """
                {"model": "nope", "messages": [{"role": "user", "content": "Hi"}]}""");
        assertThat(chat.statusCode()).isEqualTo(404);
    }

    @Test
    void theOpenAiClientAndEmbeddingsNameTheAdapter() throws Exception {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl("http://localhost:" + port + "/v1").apiKey("unused")
                .responseValidation(true).maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        try {
            Completion c = client.completions().create(CompletionCreateParams.builder().model("storyteller")
                    .prompt("Once upon a time").maxTokens(12).temperature(0.0).build());
            assertThat(c.model()).isEqualTo("storyteller");
            String base = client.completions().create(CompletionCreateParams.builder().model("stories260K")
                    .prompt("Once upon a time").maxTokens(12).temperature(0.0).build()).choices().getFirst().text();
            assertThat(c.choices().getFirst().text()).isNotEqualTo(base);
        } finally {
            client.close();
        }
        JsonNode withAdapter = json.readTree(post("/v1/embeddings",
                "{\"model\": \"attentive\", \"input\": \"Once upon a time\"}").body());
        JsonNode plain = json.readTree(post("/v1/embeddings", "{\"input\": \"Once upon a time\"}").body());
        assertThat(withAdapter.get("model").asString()).isEqualTo("attentive");
        assertThat(withAdapter.get("data").get(0).get("embedding"))
                .isNotEqualTo(plain.get("data").get(0).get("embedding"));
    }
}
