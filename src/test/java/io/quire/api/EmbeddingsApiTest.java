package io.quire.api;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import dev.langchain4j.model.output.Response;
import io.quire.SharedFiles;
import io.quire.backend.Tensor;
import io.quire.model.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.lang.foreign.ValueLayout;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

/**
 * {@code POST /v1/embeddings} over HTTP against stories260K. Two checks that the vectors are right,
 * independent of Quire's code: llama.cpp's server gives the same vector for the same text
 * ({@code llama-server -m stories260K.gguf --embeddings --pooling last}, build 80fb11a, its
 * {@code /v1/embeddings} of "Once upon a time", normalized), and the raw vector times the model's
 * output matrix gives the logits the text endpoint samples from (its greedy token and that token's
 * logprob).
 */
class EmbeddingsApiTest extends Stories260KServerTest {
    /** llama.cpp's embedding of "Once upon a time" (with BOS), last-token pooling, unit length. */
    private static final double[] LLAMA_CPP_ONCE_UPON_A_TIME = {
            0.022672, -0.060208, -0.110585, -0.113889, 0.034591, -0.418302, 0.118272, -0.041096, -0.100874,
            -0.014741, 0.014702, -0.087043, -0.089084, 0.141590, -0.318041, -0.159704, 0.066502, -0.188056,
            0.012520, -0.229903, 0.035850, 0.051855, 0.022401, 0.061600, 0.049221, 0.098631, 0.071545, -0.050986,
            -0.046881, -0.129831, 0.012072, 0.538901, 0.076857, 0.115231, -0.111377, -0.011112, 0.021682,
            0.029770, 0.003142, -0.010990, -0.081030, 0.135408, -0.098236, 0.019305, 0.003480, 0.033672,
            -0.095601, -0.063326, 0.054070, -0.090514, -0.138222, 0.070539, 0.029996, -0.107856, 0.013818,
            0.111630, 0.095528, -0.072365, 0.019932, -0.106467, 0.061630, -0.032863, 0.019405, -0.035803};

    private static float[] floats(JsonNode array) {
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) v[i] = (float) array.get(i).asDouble();
        return v;
    }

    private static float[] decode(String base64) {
        ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / 4];
        for (int i = 0; i < v.length; i++) v[i] = b.getFloat();
        return v;
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float f : v) s += (double) f * f;
        return Math.sqrt(s);
    }

    @Test
    void aTextsEmbeddingIsLlamaCppsForTheSameFile() throws Exception {
        JsonNode r = postJson("/v1/embeddings", """
                {"model": "stories260K", "input": "Once upon a time"}""");
        assertThat(r.get("object").asString()).isEqualTo("list");
        assertThat(r.get("id").asString()).startsWith("embd-");
        assertThat(r.get("model").asString()).isEqualTo(MODEL);
        assertThat(r.get("data")).hasSize(1);
        JsonNode d = r.get("data").get(0);
        assertThat(d.get("object").asString()).isEqualTo("embedding");
        assertThat(d.get("index").asInt()).isZero();
        float[] v = floats(d.get("embedding"));
        assertThat(v).hasSize(64);
        assertThat(norm(v)).isCloseTo(1.0, within(1e-5));
        double dot = 0;
        for (int i = 0; i < v.length; i++) {
            assertThat((double) v[i]).as("component %d", i).isCloseTo(LLAMA_CPP_ONCE_UPON_A_TIME[i], within(2e-3));
            dot += v[i] * LLAMA_CPP_ONCE_UPON_A_TIME[i];
        }
        assertThat(dot).isGreaterThan(0.99999);
        // BOS and four words, no completion tokens
        assertThat(r.get("usage").get("prompt_tokens").asInt()).isEqualTo(5);
        assertThat(r.get("usage").get("total_tokens").asInt()).isEqualTo(5);
    }

    @Test
    void theRawVectorTimesTheOutputMatrixGivesTheLogitsTextIsSampledFrom() throws Exception {
        JsonNode r = postJson("/v1/embeddings", """
                {"model": "stories260K", "input": "Once upon a time", "normalize": false}""");
        float[] h = floats(r.get("data").get(0).get("embedding"));
        assertThat(norm(h)).isGreaterThan(1.5);  // not normalized
        // newer vLLM's name for the same switch
        float[] same = floats(postJson("/v1/embeddings", """
                {"input": "Once upon a time", "use_activation": false}""").get("data").get(0).get("embedding"));
        for (int i = 0; i < h.length; i++) assertThat(same[i]).isCloseTo(h[i], within(1e-5f));
        assertThat(post("/v1/embeddings", """
                {"input": "hi", "normalize": true, "use_activation": false}""").statusCode()).isEqualTo(400);
        JsonNode c = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 1, "temperature": 0,
                 "logprobs": 1, "return_tokens_as_token_ids": true}""");
        JsonNode lp = c.get("choices").get(0).get("logprobs");
        int token = Integer.parseInt(lp.get("tokens").get(0).asString().substring("token_id:".length()));
        double logprob = lp.get("token_logprobs").get(0).asDouble();
        double[] logits;
        try (GgufFile f = GgufFile.open(SharedFiles.stories260K())) {
            Tensor out = f.tensor("output.weight");
            logits = new double[out.rows()];
            for (int t = 0; t < out.rows(); t++) {
                for (int j = 0; j < out.cols(); j++) {
                    logits[t] += out.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) t * out.cols() + j) * h[j];
                }
            }
        }
        int best = 0;
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int t = 0; t < logits.length; t++) if (logits[t] > logits[best]) best = t;
        for (double l : logits) max = Math.max(max, l);
        for (double l : logits) sum += Math.exp(l - max);
        assertThat(best).isEqualTo(token);
        assertThat(logits[token] - max - Math.log(sum)).isCloseTo(logprob, within(1e-4));
    }

    @Test
    void everyInputShapeAndEncodingGivesTheSameVectorInInputOrder() throws Exception {
        JsonNode r = postJson("/v1/embeddings", """
                {"model": "stories260K", "input": ["Once upon a time", "The cat sat"]}""");
        float[] once = floats(r.get("data").get(0).get("embedding"));
        float[] cat = floats(r.get("data").get(1).get("embedding"));
        assertThat(r.get("data").get(1).get("index").asInt()).isEqualTo(1);
        assertThat(cat).isNotEqualTo(once);
        // token ids, alone and as an array of arrays, in base64
        JsonNode ids = postJson("/v1/embeddings", """
                {"input": [1, 403, 407, 261, 378], "encoding_format": "base64"}""");
        float[] fromIds = decode(ids.get("data").get(0).get("embedding").asString());
        JsonNode arrays = postJson("/v1/embeddings", """
                {"input": [[1, 403, 407, 261, 378], [1, 403, 407, 261, 378]], "encoding_format": "float"}""");
        for (float[] v : List.of(fromIds, floats(arrays.get("data").get(0).get("embedding")),
                floats(arrays.get("data").get(1).get("embedding")))) {
            assertThat(v).hasSize(64);
            for (int i = 0; i < 64; i++) assertThat(v[i]).isCloseTo(once[i], within(1e-5f));
        }
        assertThat(arrays.get("usage").get("prompt_tokens").asInt()).isEqualTo(10);
    }

    @Test
    void aConversationIsEmbeddedAsItsTemplateRendersIt() throws Exception {
        String messages = """
                [{"role": "system", "content": "Stories."}, {"role": "user", "content": "Once upon a time"}]""";
        // the tokens /tokenize gives the same conversation without a generation prompt (vLLM's default here)
        JsonNode tokens = postJson("/tokenize", "{\"messages\": " + messages + ", \"add_generation_prompt\": false}")
                .get("tokens");
        float[] want = floats(postJson("/v1/embeddings", "{\"input\": " + tokens + "}").get("data").get(0)
                .get("embedding"));
        JsonNode r = postJson("/v1/embeddings", "{\"messages\": " + messages + "}");
        float[] got = floats(r.get("data").get(0).get("embedding"));
        for (int i = 0; i < want.length; i++) assertThat(got[i]).isCloseTo(want[i], within(1e-5f));
        assertThat(r.get("usage").get("prompt_tokens").asInt()).isEqualTo(tokens.size());
        // with a generation prompt: more tokens, another vector
        JsonNode prompted = postJson("/v1/embeddings", "{\"messages\": " + messages
                + ", \"add_generation_prompt\": true}");
        assertThat(prompted.get("usage").get("prompt_tokens").asInt()).isGreaterThan(tokens.size());
        for (String bad : List.of("{\"messages\": " + messages + ", \"input\": \"hi\"}",
                "{\"messages\": " + messages + ", \"chat_template\": \"{{ 7 * 7 }}\"}",
                "{\"messages\": []}", "{\"input\": \"hi\", \"embed_dtype\": \"float16\"}")) {
            HttpResponse<String> refused = post("/v1/embeddings", bad);
            assertThat(refused.statusCode()).as(bad + " -> " + refused.body()).isEqualTo(400);
        }
    }

    @Test
    void aLongInputIsTruncatedWhenAskedAndRefusedOtherwise() throws Exception {
        StringBuilder ids = new StringBuilder("[1");
        for (int i = 1; i < 600; i++) ids.append(", ").append(300 + i % 100);
        ids.append(']');
        HttpResponse<String> tooLong = post("/v1/embeddings", "{\"input\": " + ids + "}");
        assertThat(tooLong.statusCode()).isEqualTo(400);
        JsonNode e = json.readTree(tooLong.body()).get("error");
        assertThat(e.get("param").asString()).isEqualTo("input");
        assertThat(e.get("message").asString()).isEqualTo("This model's maximum context length is 512 tokens."
                + " However, you requested 600 tokens in the input for embedding generation. Please reduce the"
                + " length of the input.");
        // the last 512 kept: the same vector as those 512 sent alone, the whole context
        JsonNode cut = postJson("/v1/embeddings", "{\"input\": " + ids + ", \"truncate_prompt_tokens\": 512}");
        StringBuilder last = new StringBuilder("[");
        for (int i = 600 - 512; i < 600; i++) last.append(i == 600 - 512 ? "" : ", ").append(300 + i % 100);
        last.append(']');
        JsonNode alone = postJson("/v1/embeddings", "{\"input\": " + last + "}");
        assertThat(cut.get("usage").get("prompt_tokens").asInt()).isEqualTo(512);
        float[] a = floats(cut.get("data").get(0).get("embedding")), b = floats(alone.get("data").get(0).get("embedding"));
        for (int i = 0; i < a.length; i++) assertThat(a[i]).isCloseTo(b[i], within(1e-5f));
    }

    @Test
    void badRequestsAreOpenAiErrors() throws Exception {
        record Case(String body, int status, String param) {}
        for (Case c : List.of(
                new Case("{\"input\": \"hi\", \"dimensions\": 32}", 400, "dimensions"),
                new Case("{\"input\": \"hi\", \"dimensions\": 0}", 400, "dimensions"),
                new Case("{\"input\": \"hi\", \"encoding_format\": \"int8\"}", 400, "encoding_format"),
                new Case("{\"model\": \"stories260K\"}", 400, "input"),
                new Case("{\"input\": []}", 400, "input"),
                new Case("{\"input\": [1, 512]}", 400, "input"),
                new Case("{\"input\": [\"ok\", 3]}", 400, "input"),
                new Case("{\"input\": \"hi\", \"priority\": 1}", 400, "priority"),
                new Case("{\"input\": \"hi\", \"truncate_prompt_tokens\": 0}", 400, "truncate_prompt_tokens"),
                new Case("{\"model\": \"gpt-4\", \"input\": \"hi\"}", 404, "model"))) {
            HttpResponse<String> r = post("/v1/embeddings", c.body());
            assertThat(r.statusCode()).as(c.body() + " -> " + r.body()).isEqualTo(c.status());
            JsonNode e = json.readTree(r.body()).get("error");
            assertThat(e.get("param").asString()).as(r.body()).isEqualTo(c.param());
            assertThat(e.get("code").asInt()).isEqualTo(c.status());
        }
        assertThat(get("/v1/embeddings").statusCode()).isEqualTo(405);
    }

    @Test
    void anEmbeddingAbortedByTheServerIsA503() throws Exception {
        // a long text request holds the engine at a step; the embedding queued behind it is aborted with it
        try (EngineHold hold = EngineHold.afterSteps(engine, 1)) {
            var text = http.sendAsync(HttpRequest.newBuilder(uri("/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\": \"Once upon a time\", \"max_tokens\": 200, \"ignore_eos\": true}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            hold.awaitHeld();
            var embedding = http.sendAsync(HttpRequest.newBuilder(uri("/v1/embeddings"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"input\": \"Once upon a time\"}")).build(), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> engine.numActiveRequests() == 2);
            engine.abortAll();
            hold.close();
            HttpResponse<String> r = embedding.get(60, TimeUnit.SECONDS);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
            assertThat(json.readTree(r.body()).get("error").get("code").asInt()).isEqualTo(503);
            assertThat(text.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void langChain4jsEmbeddingModelGetsTheSameVectors() throws Exception {
        OpenAiEmbeddingModel model = OpenAiEmbeddingModel.builder().baseUrl("http://localhost:" + port + "/v1")
                .apiKey("unused").modelName(MODEL).timeout(Duration.ofSeconds(60)).build();
        List<String> texts = List.of("Once upon a time", "The cat sat");
        Response<List<Embedding>> r = model.embedAll(texts.stream().map(TextSegment::from).toList());
        assertThat(r.content()).hasSize(2);
        int tokens = 0;
        for (int t = 0; t < texts.size(); t++) {
            JsonNode one = postJson("/v1/embeddings", "{\"input\": \"" + texts.get(t) + "\"}");
            tokens += one.get("usage").get("prompt_tokens").asInt();
            float[] want = floats(one.get("data").get(0).get("embedding"));
            float[] got = r.content().get(t).vector();
            assertThat(got).hasSize(64);
            for (int i = 0; i < 64; i++) assertThat(got[i]).isCloseTo(want[i], within(1e-5f));
        }
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(tokens);
    }

    @Test
    void openAisJavaClientReadsBothEncodings() throws Exception {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl("http://localhost:" + port + "/v1").apiKey("unused")
                .responseValidation(true).maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        try {
            float[] want = floats(postJson("/v1/embeddings", "{\"input\": \"Once upon a time\"}")
                    .get("data").get(0).get("embedding"));
            for (EmbeddingCreateParams.EncodingFormat format : List.of(EmbeddingCreateParams.EncodingFormat.FLOAT,
                    EmbeddingCreateParams.EncodingFormat.BASE64)) {
                CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder()
                        .model(MODEL).input("Once upon a time").encodingFormat(format).build());
                assertThat(r.data()).hasSize(1);
                List<Float> got = r.data().getFirst().embedding();
                assertThat(got).hasSize(64);
                // the same vector up to rounding (the JIT's compiled and interpreted code round some sums apart)
                for (int i = 0; i < 64; i++) assertThat(got.get(i)).as("%s %d", format, i).isCloseTo(want[i], within(1e-5f));
                assertThat(r.usage().promptTokens()).isEqualTo(5);
            }
            assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model(MODEL)
                    .input("hi").dimensions(8).build()))
                    .isInstanceOf(BadRequestException.class).hasMessageContaining("matryoshka");
        } finally {
            client.close();
        }
    }
}
