package io.quire.api;

import io.quire.api.tools.ChatOutputParser;
import io.quire.api.wire.ChatMessage;
import io.quire.api.wire.ModelResponse;
import io.quire.api.wire.ResponsesRequest;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Responses API's output items as hermes-parsed text makes them, and its input items as chat
 * messages, without a server (found by a review: whitespace between calls was a message of its own, a
 * message and its calls sent back were two assistant turns).
 */
class ResponseItemsTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String CALL =
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";

    private static List<Object> outputOf(boolean parallel, String... deltas) {
        RequestedTools tools = RequestedTools.of(JSON.readTree(
                "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}]"), null, parallel, JSON);
        ChatOutputParser parser = new ChatParsers("hermes", null).forRequest(tools, true, false).get();
        ResponseItems items = new ResponseItems((type, data) -> type, new int[1], parallel);
        for (String d : deltas) items.push(parser.push(d));
        items.push(parser.finish());
        items.close("completed");
        return items.output();
    }

    private static List<String> types(List<Object> output) {
        List<String> out = new ArrayList<>();
        for (Object o : output) {
            out.add(o instanceof ModelResponse.FunctionCall ? "function_call"
                    : o instanceof ModelResponse.Message ? "message" : "reasoning");
        }
        return out;
    }

    @Test
    void theNewlineBetweenTwoCallsIsNoMessageOfItsOwn() {
        // Qwen and Hermes write parallel calls as <tool_call>..</tool_call>\n<tool_call>..</tool_call>
        assertThat(types(outputOf(true, CALL, "\n", CALL))).containsExactly("function_call", "function_call");
        assertThat(types(outputOf(true, "\n\n", CALL))).containsExactly("function_call");
    }

    @Test
    void textAfterACallIsDroppedAsVllmDoes() {
        assertThat(types(outputOf(true, "Let me check.", CALL, "\nDone."))).containsExactly("message", "function_call");
    }

    @Test
    void withoutParallelToolCallsOnlyTheFirstCallIsKept() {
        assertThat(types(outputOf(false, CALL, "\n", CALL))).containsExactly("function_call");
    }

    @Test
    void whitespaceAloneIsStillTheReply() {
        List<Object> output = outputOf(true, "\n\n");
        assertThat(types(output)).containsExactly("message");
        assertThat(((ModelResponse.Message) output.getFirst()).content().getFirst().text()).isEqualTo("\n\n");
    }

    @Test
    void anAssistantMessageFollowedByItsCallsIsOneAssistantTurnAndReasoningIsSkipped() {
        // one turn's output ([reasoning, message, function_call]) sent back as input, as clients do
        ResponsesRequest r = JSON.readValue("""
                {"input": [{"role": "user", "content": "Weather in Paris?"},
                  {"type": "reasoning", "id": "rs_1", "summary": [],
                   "content": [{"type": "reasoning_text", "text": "Paris..."}]},
                  {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": "Let me check.", "annotations": [], "logprobs": []}]},
                  {"type": "function_call", "id": "fc_1", "status": "completed", "call_id": "call_1",
                   "name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"},
                  {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}],
                 "instructions": ""}""", ResponsesRequest.class);
        List<ChatMessage> messages = ResponseInput.messages(r, JSON);
        // empty instructions add no system message
        assertThat(messages).extracting(ChatMessage::role).containsExactly("user", "assistant", "tool");
        assertThat(messages.get(1).content().stringValue()).isEqualTo("Let me check.");
        assertThat(messages.get(1).toolCalls()).hasSize(1);
    }
}
