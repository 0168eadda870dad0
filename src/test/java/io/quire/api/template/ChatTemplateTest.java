package io.quire.api.template;

import io.quire.SharedFiles;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChatTemplateTest {
    private static final List<Map<String, Object>> CONVERSATION = List.of(
            Map.of("role", "system", "content", "You are terse."),
            Map.of("role", "user", "content", "Hello"),
            Map.of("role", "assistant", "content", "Hi there"),
            Map.of("role", "user", "content", "How are you?"));

    private static final List<Map<String, Object>> USER_ONLY = List.of(
            Map.of("role", "user", "content", "Hello"),
            Map.of("role", "assistant", "content", "Hi there"),
            Map.of("role", "user", "content", "How are you?"));

    private static String template(String name) throws IOException {
        return Files.readString(SharedFiles.require("chat-templates/" + name));
    }

    @TestFactory
    Stream<DynamicTest> everySharedTemplateRendersAConversation() throws IOException {
        Path dir = SharedFiles.require("chat-templates");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".jinja")).sorted().toList();
        }
        assertThat(files).hasSizeGreaterThanOrEqualTo(10);
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> {
            ChatTemplate t = new ChatTemplate(Files.readString(f));
            // Gemma refuses a system message, as it does in Python; every other template takes one.
            List<Map<String, Object>> conversation = f.getFileName().toString().contains("gemma") ? USER_ONLY
                    : CONVERSATION;
            String out = t.render(conversation, true, "<s>", "</s>", Map.of());
            assertThat(out).contains("Hello").contains("How are you?").contains("Hi there");
            assertThat(out.indexOf("Hello")).isLessThan(out.indexOf("How are you?"));
        }));
    }

    @Test
    void qwen25() throws IOException {
        String out = new ChatTemplate(template("Qwen-Qwen2.5-7B-Instruct.jinja"))
                .render(CONVERSATION, true, "", "<|im_end|>", Map.of());
        assertThat(out).isEqualTo("""
                <|im_start|>system
                You are terse.<|im_end|>
                <|im_start|>user
                Hello<|im_end|>
                <|im_start|>assistant
                Hi there<|im_end|>
                <|im_start|>user
                How are you?<|im_end|>
                <|im_start|>assistant
                """);
        String noSystem = new ChatTemplate(template("Qwen-Qwen2.5-7B-Instruct.jinja"))
                .render(List.of(Map.of("role", "user", "content", "Hello")), true, "", "<|im_end|>", Map.of());
        assertThat(noSystem).isEqualTo("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a "
                + "helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void llama31() throws IOException {
        String out = new ChatTemplate(template("meta-llama-Llama-3.1-8B-Instruct.jinja"))
                .render(CONVERSATION, true, "<|begin_of_text|>", "<|eot_id|>", Map.of());
        assertThat(out).isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void mistralNemo() throws IOException {
        String out = new ChatTemplate(template("mistralai-Mistral-Nemo-Instruct-2407.jinja"))
                .render(CONVERSATION, true, "<s>", "</s>", Map.of());
        assertThat(out).isEqualTo("<s>[INST]Hello[/INST]Hi there</s>[INST]You are terse.\n\nHow are you?[/INST]");
    }

    @Test
    void phi35() throws IOException {
        ChatTemplate t = new ChatTemplate(template("microsoft-Phi-3.5-mini-instruct.jinja"));
        assertThat(t.render(CONVERSATION, true, "<s>", "<|endoftext|>", Map.of())).isEqualTo(
                "<|system|>\nYou are terse.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n"
                        + "<|user|>\nHow are you?<|end|>\n<|assistant|>\n");
        assertThat(t.render(USER_ONLY.subList(0, 1), false, "<s>", "<|endoftext|>", Map.of()))
                .isEqualTo("<|user|>\nHello<|end|>\n<|endoftext|>");
    }

    @Test
    void gemma2() throws IOException {
        ChatTemplate t = new ChatTemplate(template("google-gemma-2-2b-it.jinja"));
        assertThat(t.render(USER_ONLY, true, "<bos>", "<eos>", Map.of())).isEqualTo(
                "<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n"
                        + "<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n");
        assertThatThrownBy(() -> t.render(CONVERSATION, true, "<bos>", "<eos>", Map.of()))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("System role not supported");
    }

    @Test
    void fallbackWritesRoleLines() {
        assertThat(ChatTemplate.fallback().render(USER_ONLY, true, "<s>", "</s>", Map.of()))
                .isEqualTo("user: Hello\nassistant: Hi there\nuser: How are you?\nassistant:");
    }

    @Test
    void templateKwargsAreVisible() throws IOException {
        String out = new ChatTemplate(template("meta-llama-Llama-3.1-8B-Instruct.jinja"))
                .render(USER_ONLY, false, "", "", Map.of("date_string", "01 Jan 2030"));
        assertThat(out).contains("Today Date: 01 Jan 2030\n");
    }

    @Test
    void toJsonMatchesPython() {
        Map<String, Object> v = new java.util.LinkedHashMap<>();
        v.put("name", "f");
        v.put("args", List.of(1, 2.5, true));
        v.put("q", "é\"\n");
        assertThat(PythonJson.dumps(v, null))
                .isEqualTo("{\"name\": \"f\", \"args\": [1, 2.5, true], \"q\": \"é\\\"\\n\"}");
        assertThat(PythonJson.dumps(Map.of("a", List.of(1)), 2)).isEqualTo("{\n  \"a\": [\n    1\n  ]\n}");
    }

    @Test
    void strftime() {
        ZonedDateTime t = ZonedDateTime.of(2024, 7, 6, 15, 4, 5, 0, ZoneOffset.UTC);
        assertThat(TemplateFunctions.strftime(t, "%d %b %Y %H:%M:%S %-d %B %A %%"))
                .isEqualTo("06 Jul 2024 15:04:05 6 July Saturday %");
    }
}
