package io.quire.api;

import io.quire.SharedFiles;
import io.quire.api.template.ChatTemplate;
import io.quire.api.wire.ChatMessage;
import io.quire.model.gguf.GgufFile;
import io.quire.model.tokenizer.Tokenizer;
import io.quire.model.tokenizer.Tokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.StringNode;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Rendered prompts get exactly one BOS, and control tokens written by the template are recognised. */
class ChatPromptsTest {
    private static Tokenizer tokenizer;
    private final JsonMapper json = JsonMapper.builder().build();

    @BeforeAll
    static void load() throws Exception {
        try (GgufFile f = GgufFile.open(SharedFiles.stories260K())) {
            tokenizer = Tokenizers.fromGguf(f.metadata());
        }
    }

    private static List<ChatMessage> user(String text) {
        return List.of(new ChatMessage("user", StringNode.valueOf(text), null, null, null));
    }

    @Test
    void aTemplateThatWritesBosGetsNoSecondOne() {
        ChatPrompts p = new ChatPrompts(new ChatTemplate("{{ bos_token }}{{ messages[0]['content'] }}</s>"), tokenizer,
                json);
        String rendered = p.render(user("Once upon a time"), true, Map.of());
        assertThat(rendered).isEqualTo("<s>Once upon a time</s>");
        // <s> and </s> written as text are the control tokens 1 and 2, and BOS appears once.
        assertThat(p.tokenize(rendered, true)).containsExactly(1, 403, 407, 261, 378, 2);
    }

    @Test
    void aTemplateWithoutBosGetsTheModelsBos() {
        ChatPrompts p = new ChatPrompts(new ChatTemplate("{{ messages[0]['content'] }}"), tokenizer, json);
        assertThat(p.tokenize(p.render(user("Once upon a time"), true, Map.of()), true))
                .containsExactly(1, 403, 407, 261, 378);
        assertThat(p.tokenize(p.render(user("Once upon a time"), true, Map.of()), false))
                .containsExactly(403, 407, 261, 378);
    }

    @Test
    void onlySentFieldsReachTheTemplate() {
        ChatPrompts p = new ChatPrompts(new ChatTemplate("{% for m in messages %}{{ 'tool_calls' in m }},{{ "
                + "m.content is defined }};{% endfor %}"), tokenizer, json);
        List<ChatMessage> messages = List.of(
                new ChatMessage("user", StringNode.valueOf("Hi"), null, null, null),
                new ChatMessage("assistant", null, null,
                json.readTree("[{\"id\": \"abc\", \"function\": {\"name\": \"f\", \"arguments\": {}}}]"), null));
        assertThat(p.render(messages, false, Map.of())).isEqualTo("false,true;true,false;");
    }
}
