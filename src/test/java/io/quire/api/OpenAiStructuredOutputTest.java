package io.quire.api;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.StructuredChatCompletion;
import com.openai.models.chat.completions.StructuredChatCompletionCreateParams;
import io.quire.KvLeakCheck;
import io.quire.engine.structured.StructuredSchemas;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The official OpenAI Java client's structured-output API against the random model: the schema it
 * derives from a Java class is enforced by the server, so its own parser reads every answer back
 * into the class, streamed or not.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {"quire.model=dummy"})
class OpenAiStructuredOutputTest {
    public enum Genre { FANTASY, MYSTERY, POETRY }

    public static class Author {
        public String name;
        /** A JSON Schema integer has no bound: BigInteger holds whatever the model writes. */
        public java.math.BigInteger born;
    }

    public static class Book {
        public String title;
        public Genre genre;
        public Author author;
        public List<String> tags;
        public boolean inPrint;
        public double rating;
    }

    @LocalServerPort
    int port;
    private OpenAIClient client;

    @BeforeEach
    void client() {
        client = OpenAIOkHttpClient.builder().baseUrl("http://localhost:" + port + "/v1").apiKey("unused")
                .responseValidation(true).maxRetries(0).timeout(Duration.ofSeconds(120)).build();
    }

    @AfterEach
    void close() {
        client.close();
    }

    private StructuredChatCompletionCreateParams<Book> params() {
        return ChatCompletionCreateParams.builder().model("quire-dummy").addUserMessage("Describe a book")
                .maxCompletionTokens(200).temperature(1.0).responseFormat(Book.class).build();
    }

    @Test
    void classBasedStructuredOutputParses() {
        for (int i = 0; i < 5; i++) {
            StructuredChatCompletion<Book> done = client.chat().completions().create(params());
            Book book = done.choices().getFirst().message().content().orElseThrow();
            assertThat(book.genre).isNotNull();
            assertThat(book.author).isNotNull();
            assertThat(book.tags).isNotNull();
        }
    }

    @Test
    void streamedStructuredOutputParses() {
        for (int i = 0; i < 3; i++) {
            ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
            try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params())) {
                stream.stream().forEach(acc::accumulate);
            }
            Book book = acc.chatCompletion(Book.class).choices().getFirst().message().content().orElseThrow();
            assertThat(book.genre).isIn((Object[]) Genre.values());
        }
    }

    @Test
    void rawJsonSchemaAndJsonModeValidate() throws Exception {
        String schema = StructuredSchemas.SCHEMAS.get(5);
        @SuppressWarnings("unchecked")
        Map<String, Object> tree = new com.fasterxml.jackson.databind.ObjectMapper().readValue(schema, Map.class);
        ResponseFormatJsonSchema.JsonSchema.Schema.Builder s = ResponseFormatJsonSchema.JsonSchema.Schema.builder();
        tree.forEach((k, v) -> s.putAdditionalProperty(k, JsonValue.from(v)));
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("quire-dummy")
                .addUserMessage("Items").maxCompletionTokens(200).temperature(1.0)
                .responseFormat(ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                        .name("order").strict(true).schema(s.build()).build()).build()).build());
        String text = c.choices().getFirst().message().content().orElseThrow();
        assertThat(StructuredSchemas.validate(schema, text)).as(text).isEmpty();

        ChatCompletion o = client.chat().completions().create(ChatCompletionCreateParams.builder().model("quire-dummy")
                .addUserMessage("JSON").maxCompletionTokens(80).temperature(1.0)
                .responseFormat(ResponseFormatJsonObject.builder().build()).build());
        assertThat(StructuredSchemas.parse(o.choices().getFirst().message().content().orElseThrow()).isObject()).isTrue();
    }
}
