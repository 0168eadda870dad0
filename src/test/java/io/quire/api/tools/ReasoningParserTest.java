package io.quire.api.tools;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ReasoningParserTest {

    private static ParsedText whole(String parser, String output) {
        ReasoningParser.Stream s = ReasoningParser.named(parser).open();
        return s.push(output).then(s.finish());
    }

    private static ParsedText streamed(String parser, String output, Random random) {
        ReasoningParser.Stream s = ReasoningParser.named(parser).open();
        ParsedText all = ParsedText.EMPTY;
        for (int at = 0; at < output.length(); ) {
            int next = Math.min(output.length(), at + 1 + random.nextInt(5));
            ParsedText part = s.push(output.substring(at, next));
            all = all.then(part);
            at = next;
        }
        return all.then(s.finish());
    }

    @Test
    void deepseekR1ThinksUntilTheEndTagWithOrWithoutTheStartTag() {
        assertThat(whole("deepseek_r1", "<think>\nhmm, 2+2\n</think>\n\nIt is 4."))
                .isEqualTo(new ParsedText("\nhmm, 2+2\n", "\n\nIt is 4.", java.util.List.of()));
        // R1's template opens the block in the prompt: the output starts inside it.
        assertThat(whole("deepseek_r1", "hmm</think>4")).isEqualTo(new ParsedText("hmm", "4", java.util.List.of()));
        // Cut off while thinking: all of it is thinking.
        assertThat(whole("deepseek_r1", "still thinking").reasoning()).isEqualTo("still thinking");
    }

    @Test
    void qwen3ThinksOnlyInABlockItOpens() {
        assertThat(whole("qwen3", "<think>\nplan\n</think>\n\nAnswer"))
                .isEqualTo(new ParsedText("\nplan\n", "\n\nAnswer", java.util.List.of()));
        assertThat(whole("qwen3", "Answer without thinking")).isEqualTo(
                new ParsedText("", "Answer without thinking", java.util.List.of()));
        assertThat(whole("qwen3", "<thin")).isEqualTo(new ParsedText("", "<thin", java.util.List.of()));
    }

    @Test
    void aStreamSplitsAsTheWholeTextDoes() {
        Random random = new Random(3);
        for (String parser : ReasoningParser.NAMES) {
            for (String out : new String[]{"<think>a < b, c </thin k></think>d </think> e", "x</think>y", "<think>open",
                    "  <think>lead</think>z", "no tags at all"}) {
                ParsedText expected = whole(parser, out);
                for (int round = 0; round < 30; round++) {
                    assertThat(streamed(parser, out, random)).as("%s: %s", parser, out).isEqualTo(expected);
                }
            }
        }
    }
}
