package io.quire.model.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.SoftAssertions.assertSoftly;

/**
 * tokenizer.json files made with Hugging Face {@code tokenizers} in the styles people download
 * (Llama 3's byte-level BPE, the Hub's Llama 2 SentencePiece form with its normaliser, the
 * Metaspace form transformers 5 writes, Phi-3's chat tokens that strip the white space beside them,
 * Qwen2's byte-level BPE with NFC), against the ids
 * {@code tokenizers} itself gives on every llama.cpp tokenizer test string in {@code ../shared/vocab}:
 * without and with the tokenizer's own special tokens, with special tokens written in the text
 * (a chat turn around each string), the decoded text, and the text streamed token by token after
 * the first (what a server sends after the prompt). Made by
 * {@code tools/make_tokenizer_fixtures.py} into {@code src/test/resources/tokenizers}.
 */
class TokenizerJsonReferenceTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @ParameterizedTest
    @ValueSource(strings = {"llama3", "llama2", "mistral", "phi3", "qwen2"})
    void idsAndStreamedTextMatchHuggingFaceTokenizers(String style) throws Exception {
        Path dir = Path.of(getClass().getResource("/tokenizers").toURI());
        JsonNode ref = JSON.readTree(Files.readString(dir.resolve(style + ".json")));
        Tokenizer tokenizer = TokenizerJson.load(dir.resolve(style), ref.get("vocab").asInt());
        assertSoftly(soft -> {
            for (JsonNode c : ref.get("cases")) {
                String text = c.get("text").asString();
                String shown = text.length() > 40 ? text.substring(0, 40) + "..." : text;
                soft.assertThat(tokenizer.encode(text, false, false)).as("%s ids of [%s]", style, shown)
                        .containsExactly(ints(c.get("ids")));
                soft.assertThat(tokenizer.encode(text, true, false)).as("%s ids with special of [%s]", style, shown)
                        .containsExactly(ints(c.get("ids_with_special")));
                soft.assertThat(tokenizer.encode(c.get("chat").asString(), false, true))
                        .as("%s chat ids around [%s]", style, shown).containsExactly(ints(c.get("chat_ids")));
                soft.assertThat(tokenizer.decode(ints(c.get("ids_with_special")))).as("%s decoded [%s]", style, shown)
                        .isEqualTo(c.get("decoded").asString());
                int[] ids = ints(c.get("ids"));
                if (ids.length > 1 && !c.get("streamed_after_first").isNull()) {
                    StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer);
                    stream.add(ids[0]);
                    StringBuilder out = new StringBuilder();
                    for (int i = 1; i < ids.length; i++) out.append(stream.add(ids[i]));
                    out.append(stream.flush());
                    soft.assertThat(out.toString()).as("%s text streamed after the first token of [%s]", style, shown)
                            .isEqualTo(c.get("streamed_after_first").asString());
                }
            }
        });
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
