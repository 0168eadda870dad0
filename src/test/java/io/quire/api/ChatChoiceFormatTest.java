package io.quire.api;

import io.quire.api.tools.ChatOutputParser;
import io.quire.api.tools.ReasoningParser;
import io.quire.api.wire.ChatChunkChoice;
import io.quire.api.wire.ChatCompletionChunk;
import io.quire.engine.FinishReason;
import io.quire.engine.SequenceDelta;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Token ids (vLLM's return_token_ids) in a chat stream whose parser holds text back. */
class ChatChoiceFormatTest {

    @Test
    void idsOfTextAParserHoldsBackComeWithTheChunkThatShowsIt() {
        ReasoningParser r1 = ReasoningParser.named("deepseek_r1");
        ChatChoiceFormat format = new ChatChoiceFormat("chatcmpl-1", 1, "m", null, null,
                () -> new ChatOutputParser(r1.open(), null, true), new int[] {9, 9}, null);
        ChatCompletionChunk head = (ChatCompletionChunk) format.head(0, null);
        assertThat(head.promptTokenIds()).containsExactly(9, 9);
        List<Integer> shown = new ArrayList<>();
        // "</th" may start "</think>": held back with its ids until "ink>" settles it
        String[] texts = {"Hmm ", "</th", "ink>", " yes"};
        for (int i = 0; i < texts.length; i++) {
            SequenceDelta d = new SequenceDelta(0, texts[i], new int[] {100 + i}, List.of(),
                    i == texts.length - 1 ? FinishReason.LENGTH : null);
            ChatCompletionChunk c = (ChatCompletionChunk) format.chunk(0, d);
            if (i == 1) assertThat(c).as("held back").isNull();
            if (c == null) continue;
            assertThat(c.promptTokenIds()).isNull();
            ChatChunkChoice choice = c.choices().getFirst();
            for (int id : choice.tokenIds()) shown.add(id);
        }
        assertThat(shown).containsExactly(100, 101, 102, 103);
    }
}
