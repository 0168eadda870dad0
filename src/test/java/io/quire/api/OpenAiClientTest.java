package io.quire.api;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The official OpenAI Java client, pointed at the server with strict response validation: every
 * field it requires must be there with the right type.
 */
class OpenAiClientTest extends Stories260KServerTest {
    private OpenAIClient client;

    @BeforeEach
    void client() {
        client = OpenAIOkHttpClient.builder()
                .baseUrl("http://localhost:" + port + "/v1")
                .apiKey("unused")
                .responseValidation(true)
                .maxRetries(0)
                .timeout(Duration.ofSeconds(60))
                .build();
    }

    @AfterEach
    void close() {
        client.close();
    }

    private ChatCompletionCreateParams.Builder chat() {
        return ChatCompletionCreateParams.builder()
                .model(MODEL)
                .addSystemMessage("You tell stories.")
                .addUserMessage("Tell me about Lily")
                .maxCompletionTokens(10)
                .temperature(0.0);
    }

    @Test
    void streamingChat() {
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
                chat().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(chunks::add);
        }
        assertThat(chunks.getFirst().choices().getFirst().delta().role())
                .hasValue(ChatCompletionChunk.Choice.Delta.Role.ASSISTANT);
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (ChatCompletionChunk c : chunks) {
            assertThat(c.model()).isEqualTo(MODEL);
            for (ChatCompletionChunk.Choice choice : c.choices()) {
                choice.delta().content().ifPresent(text::append);
                if (choice.finishReason().isPresent()) finish = choice.finishReason().get().asString();
            }
        }
        assertThat(finish).isEqualTo("length");
        assertThat(chunks.getLast().choices()).isEmpty();
        assertThat(chunks.getLast().usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(10));

        ChatCompletion whole = client.chat().completions().create(chat().build());
        assertThat(whole.choices().getFirst().message().content()).hasValue(text.toString());
        assertThat(whole.usage()).hasValueSatisfying(u -> assertThat(u.totalTokens()).isEqualTo(u.promptTokens() + 10));
    }

    @Test
    void completionAndModels() {
        Completion c = client.completions().create(CompletionCreateParams.builder()
                .model(MODEL).prompt("Once upon a time").maxTokens(32).temperature(0.0).build());
        assertThat(c.choices().getFirst().text()).isEqualTo(ONCE_UPON_A_TIME_32);
        assertThat(c.choices().getFirst().finishReason().asString()).isEqualTo("length");
        List<Model> models = client.models().list().data();
        assertThat(models).extracting(Model::id).containsExactly(MODEL);
    }

    @Test
    void echoWithLogprobsParsesInTheClient() {
        // lm-eval's loglikelihood shape: the prompt's tokens first, the first one with no logprob and null
        // alternatives, as OpenAI's legacy API and vLLM send it; the client's strict validation (this test
        // class's, off by default) refuses that null, so this client does not validate.
        OpenAIClient lenient = OpenAIOkHttpClient.builder().baseUrl("http://localhost:" + port + "/v1")
                .apiKey("unused").maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        Completion c;
        try {
            c = lenient.completions().create(CompletionCreateParams.builder().model(MODEL).prompt("Once upon a time")
                    .maxTokens(1).temperature(0.0).logprobs(1L).echo(true).build());
        } finally {
            lenient.close();
        }
        var lp = c.choices().getFirst().logprobs().orElseThrow();
        assertThat(lp.tokens().orElseThrow()).hasSize(6).startsWith("<s>");
        List<Double> values = lp.tokenLogprobs().orElseThrow();
        assertThat(values).hasSize(6);
        assertThat(values.getFirst()).isNull();
        assertThat(values.subList(1, 6)).allSatisfy(v -> assertThat(v).isNegative());
        assertThat(c.choices().getFirst().text()).startsWith("Once upon a time");
        assertThat(lp.topLogprobs().orElseThrow().get(1)._additionalProperties()).containsKey(lp.tokens().get().get(1));
    }

    @Test
    void errorsMapToTheClientsExceptions() {
        assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("gpt-4o").addUserMessage("Hi").build()))
                .isInstanceOfSatisfying(NotFoundException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(404);
                    assertThat(e.getMessage()).contains("gpt-4o");
                });
        assertThatThrownBy(() -> client.completions().create(CompletionCreateParams.builder()
                .model(MODEL).prompt("Hi").temperature(-1.0).build()))
                .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.statusCode()).isEqualTo(400));
    }
}
