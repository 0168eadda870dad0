package io.quire.api.template;

import io.quire.SharedFiles;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every shared template that reads {@code tools} prints the offered function when it gets the list as
 * the {@code tools} variable (as Hugging Face's {@code apply_chat_template(tools=...)} passes it), and
 * prints nothing of tools when none are offered.
 */
class ToolsInTemplatesTest {
    private static final String DESCRIPTION = "QUIREDESCRIPTION";
    private static final List<Object> TOOLS = List.of(Map.of("type", "function", "function", Map.of(
            "name", "get_weather", "description", DESCRIPTION,
            "parameters", Map.of("type", "object", "properties", Map.of("city", Map.of("type", "string"))))));

    /** Templates that use the variable (Firefunction's mentions the word but reads {@code functions}). */
    private static final Pattern READS_TOOLS = Pattern.compile("(\\bif|\\bin|\\bis|\\bnot) tools\\b|tools\\s*(\\||is\\b|%\\}|}})");

    @TestFactory
    Stream<DynamicTest> templatesThatReadToolsPrintTheOfferedFunction() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(SharedFiles.require("chat-templates"))) {
            files = s.filter(p -> p.toString().endsWith(".jinja")).sorted().toList();
        }
        return files.stream().filter(f -> READS_TOOLS.matcher(read(f)).find()).map(f -> DynamicTest.dynamicTest(
                f.getFileName().toString(), () -> {
                    ChatTemplate t = new ChatTemplate(read(f));
                    List<Map<String, Object>> chat = List.of(Map.of("role", "user", "content", "Weather in Oslo?"));
                    String with = t.render(chat, TOOLS, true, "<s>", "</s>", Map.of());
                    String without = t.render(chat, List.of(), true, "<s>", "</s>", Map.of());
                    assertThat(with).contains("get_weather");
                    assertThat(without).doesNotContain("get_weather");
                }));
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
