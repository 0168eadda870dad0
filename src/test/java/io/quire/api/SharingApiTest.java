package io.quire.api;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** n, best_of, use_beam_search and length_penalty from the wire (stories260K through the real engine). */
class SharingApiTest extends Stories260KServerTest {

    @Test
    void severalSeededSamplesComeAsIndexedChoices() throws Exception {
        String body = """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 12, "temperature": 0.9, "seed": 5, "n": 3, "ignore_eos": true}""";
        JsonNode r = postJson("/v1/completions", body);
        JsonNode choices = r.get("choices");
        assertThat(choices.size()).isEqualTo(3);
        Set<String> texts = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            assertThat(choices.get(i).get("index").asInt()).isEqualTo(i);
            assertThat(choices.get(i).get("finish_reason").asString()).isEqualTo("length");
            texts.add(choices.get(i).get("text").asString());
        }
        assertThat(texts).hasSizeGreaterThan(1);
        assertThat(r.get("usage").get("completion_tokens").asInt()).isEqualTo(36);
        // Seeded: the same again, streamed or not; choice 0 is what n = 1 gives with the seed.
        assertThat(postJson("/v1/completions", body).get("choices")).isEqualTo(choices);
        List<JsonNode> chunks = stream("/v1/completions", body.replace("\"n\": 3", "\"n\": 3, \"stream\": true"));
        for (int i = 0; i < 3; i++) assertThat(completionText(chunks, i))
                .isEqualTo(choices.get(i).get("text").asString());
        JsonNode one = postJson("/v1/completions", body.replace("\"n\": 3", "\"n\": 1"));
        assertThat(one.get("choices").get(0).get("text").asString()).isEqualTo(choices.get(0).get("text").asString());
    }

    @Test
    void beamSearchAndBestOfReturnNChoices() throws Exception {
        JsonNode beams = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 16, "n": 2, "best_of": 4,
                 "use_beam_search": true, "length_penalty": 1.0}""");
        assertThat(beams.get("choices").size()).isEqualTo(2);
        assertThat(beams.get("choices").get(0).get("text").asString())
                .isNotEqualTo(beams.get("choices").get(1).get("text").asString());
        JsonNode chat = postJson("/v1/chat/completions", """
                {"model": "stories260K", "messages": [{"role": "user", "content": "Tom"}], "max_tokens": 10, "n": 2, "best_of": 3,
                 "temperature": 1.0, "seed": 3}""");
        assertThat(chat.get("choices").size()).isEqualTo(2);
        assertThat(chat.get("choices").get(1).get("index").asInt()).isEqualTo(1);
        HttpResponseCheck.badRequest(post("/v1/completions", """
                {"model": "stories260K", "prompt": "Tom", "max_tokens": 4, "n": 3, "best_of": 2}"""), "best_of");
    }

    /** A 400 naming the parameter. */
    static final class HttpResponseCheck {
        static void badRequest(java.net.http.HttpResponse<String> r, String param) {
            assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
            assertThat(r.body()).contains(param);
        }
    }
}
