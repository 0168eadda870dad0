package io.quire.api;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The official OpenAI Java client sends its {@code apiKey} as a bearer token: with ours it is served, with another
 * refused.
 */
class ApiKeyOpenAiClientTest extends ApiKeyServerTest {

    private OpenAIClient client(String key) {
        return OpenAIOkHttpClient.builder()
                .baseUrl("http://localhost:" + port + "/v1")
                .apiKey(key)
                .responseValidation(true)
                .maxRetries(0)
                .timeout(Duration.ofSeconds(60))
                .build();
    }

    @Test
    void theClientWithAKeyIsServed() {
        OpenAIClient client = client(KEY_TWO);
        try {
            Completion c = client.completions().create(CompletionCreateParams.builder()
                    .model(MODEL).prompt("Once upon a time").maxTokens(32).temperature(0.0).build());
            assertThat(c.choices().getFirst().text()).isEqualTo(ONCE_UPON_A_TIME_32);
            assertThat(client.models().list().data()).extracting(Model::id).containsExactly(MODEL);

            List<ChatCompletionChunk> chunks = new ArrayList<>();
            try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
                    .createStreaming(ChatCompletionCreateParams.builder()
                    .model(MODEL).addUserMessage("Tell me about Lily").maxCompletionTokens(8).temperature(0.0)
                    .build())) {
                stream.stream().forEach(chunks::add);
            }
            assertThat(chunks).isNotEmpty();
            assertThat(chunks.getLast().choices().getFirst().finishReason())
                    .hasValueSatisfying(f -> assertThat(f.asString()).isEqualTo("length"));
        } finally {
            client.close();
        }
    }

    @Test
    void theClientWithAnotherKeyGetsItsAuthenticationError() {
        OpenAIClient client = client("sk-not-ours");
        try {
            assertThatThrownBy(() -> client.models().list())
                    .isInstanceOfSatisfying(UnauthorizedException.class, e -> {
                        assertThat(e.statusCode()).isEqualTo(401);
                        assertThat(e.getMessage()).contains("Invalid API key");
                    });
        } finally {
            client.close();
        }
    }
}
