package io.quire.api.tools;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Each format's calls read from outputs as the models write them, whole and streamed in random
 * pieces (seeded): a stream must tell the same content and calls as the whole text, and never show
 * part of a call's markup as content.
 */
class ToolCallParserTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Map<String, JsonNode> PARAMS = Map.of(
            "get_weather", JSON.readTree("""
                    {"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},
                     "metric":{"type":"boolean"},"where":{"type":"object"}}}"""),
            "search", JSON.readTree("{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}"));

    private static ParsedText whole(String parser, String output) {
        ToolCallStream s = ToolCallParser.named(parser).open(PARAMS);
        return s.push(output).then(s.finish());
    }

    /** The output in random pieces; also checks no piece of content holds a marker's start. */
    private static ParsedText streamed(String parser, String output, Random random, String marker) {
        ToolCallStream s = ToolCallParser.named(parser).open(PARAMS);
        ParsedText all = ParsedText.EMPTY;
        for (int at = 0; at < output.length(); ) {
            int next = Math.min(output.length(), at + 1 + random.nextInt(6));
            ParsedText part = s.push(output.substring(at, next));
            if (marker != null) assertThat(part.content()).doesNotContain(marker.substring(0, 2));
            all = all.then(part);
            at = next;
        }
        return all.then(s.finish());
    }

    private static void assertSameStreamed(String parser, String output, String marker) {
        ParsedText expected = whole(parser, output);
        Random random = new Random(42);
        for (int round = 0; round < 50; round++) {
            assertThat(streamed(parser, output, random, marker)).as("round %d", round).isEqualTo(expected);
        }
    }

    @Test
    void hermesReadsEveryCallAndKeepsTheTextAround() {
        String out = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", "
                + "\"days\": 3}}\n</tool_call>\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"a<b\"}}\n"
                + "</tool_call>";
        ParsedText p = whole("hermes", out);
        assertThat(p.content()).isEqualTo("Let me check.\n\n");
        assertThat(p.calls()).containsExactly(
                new ParsedToolCall("get_weather", "{\"city\":\"Paris\",\"days\":3}"),
                new ParsedToolCall("search", "{\"q\":\"a<b\"}"));
        assertSameStreamed("hermes", out, null);
    }

    @Test
    void hermesGivesBackABrokenCallAsTextAndReadsAnUnclosedOneAtTheEnd() {
        ParsedText broken = whole("hermes", "a <tool_call>{not json}</tool_call> b");
        assertThat(broken.calls()).isEmpty();
        assertThat(broken.content()).isEqualTo("a <tool_call>{not json}</tool_call> b");
        ParsedText unclosed = whole("hermes", "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"x\"}}\n");
        assertThat(unclosed.calls()).containsExactly(new ParsedToolCall("search", "{\"q\":\"x\"}"));
        assertThat(unclosed.content()).isEmpty();
        // Text that only looks like the start of a marker comes out in the end.
        assertThat(whole("hermes", "1 <tool").content()).isEqualTo("1 <tool");
        assertThat(whole("hermes", "x < y and <toolbox>").content()).isEqualTo("x < y and <toolbox>");
    }

    @Test
    void hermesStreamHoldsBackOnlyWhatMayBeAMarker() {
        ToolCallStream s = ToolCallParser.named("hermes").open(PARAMS);
        assertThat(s.push("Sure <").content()).isEqualTo("Sure ");
        assertThat(s.push("b>").content()).isEqualTo("<b>");
        assertThat(s.push(" <tool_c").content()).isEqualTo(" ");
        assertThat(s.push("all>{\"name\":\"search\",\"arguments\":{}}").isEmpty()).isTrue();
        ParsedText closed = s.push("</tool_call>");
        assertThat(closed.calls()).containsExactly(new ParsedToolCall("search", "{}"));
        assertThat(s.finish().isEmpty()).isTrue();
    }

    @Test
    void llama3JsonReadsOneOrMoreCallsAndLeavesOtherOutputAlone() {
        String two = "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}; "
                + "{\"name\": \"search\", \"parameters\": {\"q\": \"a; b\"}}";
        assertThat(whole("llama3_json", two).calls()).containsExactly(
                new ParsedToolCall("get_weather", "{\"city\":\"Oslo\"}"),
                new ParsedToolCall("search", "{\"q\":\"a; b\"}"));
        assertThat(whole("llama3_json", "{\"name\": \"search\", \"parameters\": {\"q\": \"z\"}}").calls())
                .containsExactly(new ParsedToolCall("search", "{\"q\":\"z\"}"));
        ParsedText text = whole("llama3_json", "The weather is fine {really}.");
        assertThat(text.calls()).isEmpty();
        assertThat(text.content()).isEqualTo("The weather is fine {really}.");
        assertThat(whole("llama3_json", "{not a call").content()).isEqualTo("{not a call");
        assertSameStreamed("llama3_json", two, null);
        assertSameStreamed("llama3_json", "Plain answer, no call.", null);
    }

    @Test
    void mistralReadsBothGenerationsOfItsFormat() {
        String v3 = "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}, "
                + "{\"name\": \"search\", \"arguments\": {\"q\": \"x\"}}]";
        assertThat(whole("mistral", v3).calls()).containsExactly(
                new ParsedToolCall("get_weather", "{\"city\":\"Rome\"}"), new ParsedToolCall("search", "{\"q\":\"x\"}"));
        String v11 = "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Rome\"}[TOOL_CALLS]search[ARGS]{\"q\": \"y\"}";
        assertThat(whole("mistral", v11).calls()).containsExactly(
                new ParsedToolCall("get_weather", "{\"city\":\"Rome\"}"), new ParsedToolCall("search", "{\"q\":\"y\"}"));
        assertSameStreamed("mistral", "Calling: " + v3, "[TOOL_CALLS]");
        assertSameStreamed("mistral", v11, "[TOOL_CALLS]");
    }

    @Test
    void qwen3CoderTypesEachParameterByTheFunctionsSchema() {
        String out = "<tool_call>\n<function=get_weather>\n<parameter=city>\nNew York\n</parameter>\n"
                + "<parameter=days>\n5\n</parameter>\n<parameter=metric>\ntrue\n</parameter>\n"
                + "<parameter=where>\n{\"lat\": 40.7}\n</parameter>\n</function>\n</tool_call>";
        ParsedText p = whole("qwen3_coder", out);
        assertThat(p.calls()).containsExactly(new ParsedToolCall("get_weather",
                "{\"city\":\"New York\",\"days\":5,\"metric\":true,\"where\":{\"lat\":40.7}}"));
        // A value that is not what the schema says stays the text the model wrote.
        assertThat(whole("qwen3_coder", "<tool_call><function=get_weather><parameter=days>five</parameter>"
                + "</function></tool_call>").calls())
                .containsExactly(new ParsedToolCall("get_weather", "{\"days\":\"five\"}"));
        assertSameStreamed("qwen3_coder", "ok " + out + " done", "<tool_call>");
    }

    @Test
    void unknownParserNamesTheKnownOnes() {
        assertThatThrownBy(() -> ToolCallParser.named("pythonic"))
                .hasMessage("unknown tool-call parser 'pythonic'; known: hermes, llama3_json, mistral, qwen3_coder");
    }

    @Test
    void randomTextWithMarkersStreamsAsItReadsWhole() {
        Random random = new Random(7);
        String[] pieces = {"<", "tool", "_call>", "</tool_call>", "{\"name\":\"search\",\"arguments\":{}}", "x", " ",
                "<tool_call>", "\n", "}", "{"};
        for (int round = 0; round < 200; round++) {
            StringBuilder out = new StringBuilder();
            for (int i = random.nextInt(12); i > 0; i--) out.append(pieces[random.nextInt(pieces.length)]);
            for (String parser : List.of("hermes", "qwen3_coder", "mistral", "llama3_json")) {
                ParsedText expected = whole(parser, out.toString());
                assertThat(streamed(parser, out.toString(), new Random(round), null)).as("%s on %s", parser, out)
                        .isEqualTo(expected);
                // Nothing is lost: what is not a call is content, in order.
                if (expected.calls().isEmpty()) assertThat(expected.content()).isEqualTo(out.toString());
            }
        }
    }
}
