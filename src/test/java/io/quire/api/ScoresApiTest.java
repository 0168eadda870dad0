package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * vLLM's {@code /score} and {@code /rerank} over HTTP against stories260K, scoring with embeddings: a
 * pair's score must be the cosine similarity of the two texts' vectors as {@code /v1/embeddings} gives
 * them, and reranking must order the documents by it.
 */
class ScoresApiTest extends Stories260KServerTest {
    private static final List<String> DOCUMENTS = List.of("Once upon a time", "The cat sat on the mat.",
            "Lily loved to play outside in the park.", "Tom had a big red ball.");

    private float[] embedding(String text) throws Exception {
        JsonNode e = postJson("/v1/embeddings", "{\"input\": " + json.writeValueAsString(text) + "}")
                .get("data").get(0).get("embedding");
        float[] v = new float[e.size()];
        for (int i = 0; i < v.length; i++) v[i] = (float) e.get(i).asDouble();
        return v;
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    @Test
    void aScoreIsTheCosineOfTheTwoTextsEmbeddings() throws Exception {
        String query = "Once upon a time";
        JsonNode r = postJson("/score", "{\"model\": \"stories260K\", \"text_1\": " + json.writeValueAsString(query)
                + ", \"text_2\": " + json.writeValueAsString(DOCUMENTS) + "}");
        assertThat(r.get("object").asString()).isEqualTo("list");
        assertThat(r.get("id").asString()).startsWith("score-");
        assertThat(r.get("model").asString()).isEqualTo(MODEL);
        JsonNode data = r.get("data");
        assertThat(data).hasSize(DOCUMENTS.size());
        float[] q = embedding(query);
        int tokens = 0;
        for (int i = 0; i < DOCUMENTS.size(); i++) {
            assertThat(data.get(i).get("index").asInt()).isEqualTo(i);
            assertThat(data.get(i).get("object").asString()).isEqualTo("score");
            assertThat(data.get(i).get("score").asDouble()).as(DOCUMENTS.get(i))
                    .isCloseTo(cosine(q, embedding(DOCUMENTS.get(i))), within(1e-4));
            tokens += engine.tokenizer().encode(DOCUMENTS.get(i), true, true).length;
        }
        assertThat(data.get(0).get("score").asDouble()).isCloseTo(1.0, within(1e-4));
        assertThat(data.get(1).get("score").asDouble()).isLessThan(0.999);
        tokens += engine.tokenizer().encode(query, true, true).length;
        assertThat(r.get("usage").get("prompt_tokens").asInt()).isEqualTo(tokens);
        // N:N pairs; /v1/score is the same endpoint
        JsonNode pairs = postJson("/v1/score", "{\"text_1\": [\"Once upon a time\", \"Tom had a big red ball.\"],"
                + " \"text_2\": [\"Tom had a big red ball.\", \"Tom had a big red ball.\"]}");
        assertThat(pairs.get("data").get(0).get("score").asDouble())
                .isCloseTo(data.get(3).get("score").asDouble(), within(1e-4));
        assertThat(pairs.get("data").get(1).get("score").asDouble()).isCloseTo(1.0, within(1e-4));
    }

    @Test
    void rerankingOrdersTheDocumentsByThatScore() throws Exception {
        String query = "Lily played in the park";
        JsonNode scores = postJson("/score", "{\"text_1\": " + json.writeValueAsString(query) + ", \"text_2\": "
                + json.writeValueAsString(DOCUMENTS) + "}").get("data");
        List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3));
        order.sort((a, b) -> Double.compare(scores.get(b).get("score").asDouble(), scores.get(a).get("score").asDouble()));
        for (String path : List.of("/rerank", "/v1/rerank", "/v2/rerank")) {
            JsonNode r = postJson(path, "{\"model\": \"stories260K\", \"query\": " + json.writeValueAsString(query)
                    + ", \"documents\": " + json.writeValueAsString(DOCUMENTS) + "}");
            assertThat(r.get("id").asString()).startsWith("rerank-");
            JsonNode results = r.get("results");
            assertThat(results).hasSize(DOCUMENTS.size());
            for (int k = 0; k < results.size(); k++) {
                int index = results.get(k).get("index").asInt();
                assertThat(index).as(path + " rank " + k).isEqualTo(order.get(k));
                assertThat(results.get(k).get("document").get("text").asString()).isEqualTo(DOCUMENTS.get(index));
                assertThat(results.get(k).get("relevance_score").asDouble())
                        .isCloseTo(scores.get(index).get("score").asDouble(), within(1e-4));
            }
            assertThat(r.get("usage").get("total_tokens").asInt()).isPositive();
        }
        JsonNode top = postJson("/rerank", "{\"query\": " + json.writeValueAsString(query) + ", \"documents\": "
                + json.writeValueAsString(DOCUMENTS) + ", \"top_n\": 2}").get("results");
        assertThat(top).hasSize(2);
        assertThat(top.get(0).get("index").asInt()).isEqualTo(order.get(0));
        assertThat(top.get(1).get("index").asInt()).isEqualTo(order.get(1));
    }

    @Test
    void badRequestsAreOpenAiErrors() throws Exception {
        record Case(String path, String body, String param) {}
        for (Case c : List.of(
                new Case("/score", "{\"text_1\": [\"a\", \"b\"], \"text_2\": [\"a\", \"b\", \"c\"]}", "text_1"),
                new Case("/score", "{\"text_2\": \"a\"}", "text_1"),
                new Case("/score", "{\"text_1\": \"a\", \"text_2\": []}", "text_2"),
                new Case("/score", "{\"text_1\": {\"content\": []}, \"text_2\": \"a\"}", "text_1"),
                new Case("/score", "{\"text_1\": \"a\", \"text_2\": \"b\", \"truncate_prompt_tokens\": 0}",
                        "truncate_prompt_tokens"),
                new Case("/rerank", "{\"documents\": [\"a\"]}", "query"),
                new Case("/rerank", "{\"query\": \"a\", \"documents\": \"a\"}", "documents"),
                new Case("/rerank", "{\"query\": \"a\", \"documents\": [\"a\", 3]}", "documents"),
                new Case("/rerank", "{\"query\": \"a\", \"documents\": [\"a\"], \"top_n\": -1}", "top_n"),
                new Case("/rerank", "{\"query\": \"a\", \"documents\": [\"a\"], \"priority\": 2}", "priority"))) {
            HttpResponse<String> r = post(c.path(), c.body());
            assertThat(r.statusCode()).as(c + " -> " + r.body()).isEqualTo(400);
            assertThat(json.readTree(r.body()).get("error").get("param").asString()).as(r.body()).isEqualTo(c.param());
        }
        assertThat(get("/score").statusCode()).isEqualTo(405);
        assertThat(get("/v2/rerank").statusCode()).isEqualTo(405);
    }
}
