package io.quire.api;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import io.quire.KvLeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tool calling through the clients people use, on the built-in random model: the official OpenAI Java
 * client's typed tools (a strict function made from a class, its arguments parsed back into that
 * class), streamed and not; and LangChain4j's OpenAI chat model making a whole round trip: a forced
 * call, the tool's result sent back, a text answer.
 */
@ExtendWith(KvLeakCheck.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=64MB", "quire.max-model-len=1024"})
class ToolCallingClientsTest {
    /** A tool's parameters as a class: the client derives the strict JSON Schema from it. */
    public static class SetThermostat {
        public enum Room { KITCHEN, BEDROOM, HALL }

        public Room room;
        public boolean eco;
    }

    @LocalServerPort
    int port;

    private OpenAIClient openAi() {
        return OpenAIOkHttpClient.builder().baseUrl("http://localhost:" + port + "/v1").apiKey("unused")
                .responseValidation(true).maxRetries(0).timeout(Duration.ofSeconds(120)).build();
    }

    private ChatCompletionCreateParams params(long seed) {
        return ChatCompletionCreateParams.builder()
                .model("quire-dummy")
                .addUserMessage("Make the kitchen warm")
                .addTool(SetThermostat.class)
                .toolChoice(ChatCompletionToolChoiceOption.ofNamedToolChoice(ChatCompletionNamedToolChoice.builder()
                        .function(ChatCompletionNamedToolChoice.Function.builder().name("SetThermostat").build())
                        .build()))
                .temperature(1.0)
                .seed(seed)
                .maxCompletionTokens(200)
                .build();
    }

    private static void assertCall(ChatCompletion completion) {
        ChatCompletion.Choice choice = completion.choices().getFirst();
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().getFirst().asFunction();
        assertThat(call.function().name()).isEqualTo("SetThermostat");
        SetThermostat args = call.function().arguments(SetThermostat.class);
        assertThat(args.room).isNotNull();
    }

    @Test
    void openAiJavaClientParsesForcedCallsIntoItsToolClass() {
        OpenAIClient client = openAi();
        try {
            for (long seed = 0; seed < 4; seed++) {
                assertCall(client.chat().completions().create(params(seed)));
                ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
                try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
                        .createStreaming(params(seed))) {
                    stream.stream().forEach(acc::accumulate);
                }
                assertCall(acc.chatCompletion());
            }
        } finally {
            client.close();
        }
    }

    @Test
    void langChain4jMakesACallAndAnswersFromTheToolResult() {
        OpenAiChatModel model = OpenAiChatModel.builder().baseUrl("http://localhost:" + port + "/v1")
                .apiKey("unused").modelName("quire-dummy").temperature(1.0).maxTokens(200).seed(3)
                .timeout(Duration.ofSeconds(120)).build();
        ToolSpecification weather = ToolSpecification.builder().name("get_weather").description("Weather in a city")
                .parameters(JsonObjectSchema.builder().addEnumProperty("city", List.of("Paris", "Oslo", "Rome"))
                        .addBooleanProperty("tomorrow").required("city", "tomorrow").build())
                .build();
        List<ChatMessage> messages = new ArrayList<>(List.of(UserMessage.from("What is the weather in Oslo?")));

        ChatResponse first = model.chat(ChatRequest.builder().messages(messages).toolSpecifications(weather)
                .toolChoice(ToolChoice.REQUIRED).build());
        AiMessage call = first.aiMessage();
        assertThat(call.hasToolExecutionRequests()).isTrue();
        ToolExecutionRequest request = call.toolExecutionRequests().getFirst();
        assertThat(request.name()).isEqualTo("get_weather");
        assertThat(request.arguments()).containsPattern("\"city\":\"(Paris|Oslo|Rome)\"");
        assertThat(request.id()).startsWith("call_");

        messages.add(call);
        messages.add(ToolExecutionResultMessage.from(request, "sunny, 21 C"));
        ChatResponse answer = model.chat(ChatRequest.builder().messages(messages).maxOutputTokens(8).build());
        assertThat(answer.aiMessage().hasToolExecutionRequests()).isFalse();
        assertThat(answer.aiMessage().text()).isNotEmpty();
        assertThat(answer.tokenUsage().outputTokenCount()).isEqualTo(8);
    }
}
