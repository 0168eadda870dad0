package io.quire.api.template;

import io.quire.SharedFiles;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * What a client sends (message text, roles, names, tool calls, {@code chat_template_kwargs}) is
 * data: every real template must print it exactly as sent, never run it. The oracle: a render
 * with a hostile value equals the render with a plain marker in its place, the marker replaced.
 */
class ChatTemplateDataTest {
    /** Jinja that would read files, compute, loop, swallow words or raise if it were executed. */
    static final List<String> HOSTILE = List.of(
            "{% include 'file:///etc/passwd' %}",
            "{% include 'application.yml' %}",
            "{% import 'application.yml' as cfg %}{{ cfg }}",
            "{% from 'application.yml' import x %}",
            "{{ 7*7 }}",
            "{% for i in range(99999999) %}x{% endfor %}",
            "What does {{ name }} mean?",
            "{# comment #}",
            "{%raw%}",
            "{{ raise_exception('boom') }}");

    /** What executing {@link #HOSTILE} would leave behind (passwd, application.yml, 7*7, the loop). */
    private static final List<String> ARTEFACTS = List.of("root:", "quire:", "49", "xxxxxxxxxx", "boom");

    private static final String SYSTEM = "QUIRESYSTEM";
    private static final String USER = "QUIREUSER";
    private static final String NAME = "QUIRENAME";
    private static final String KWARG = "QUIREKWARG";
    private static final String ARGUMENT = "QUIREARGUMENT";
    private static final String TOOL_RESULT = "QUIRETOOLRESULT";
    private static final String ROLE = "quirerole";
    private static final List<Map<String, Object>> HELLO = List.of(Map.of("role", "user", "content", "Hello"));

    @TestFactory
    Stream<DynamicNode> everyTemplatePrintsHostileDataLiterally() throws IOException {
        return templates().stream().map(f -> DynamicContainer.dynamicContainer(f.getFileName().toString(),
                HOSTILE.stream().map(h -> DynamicTest.dynamicTest(h, () -> {
                    ChatTemplate t = new ChatTemplate(Files.readString(f));
                    boolean system = !f.getFileName().toString().contains("gemma");
                    String plain = t.render(chat(system, USER, SYSTEM, NAME), true, "<s>", "</s>",
                            kwargs(KWARG, false));
                    assertThat(plain).as("the plain conversation shows user text").contains(USER);
                    if (system) assertThat(plain).as("and system text").contains(SYSTEM);
                    String hostile = t.render(chat(system, h, h, h), true, "<s>", "</s>", kwargs(h, false));
                    assertLiteral(hostile, h);
                    assertThat(hostile).isEqualTo(plain.replace(SYSTEM, h).replace(USER, h).replace(NAME, h)
                            .replace(KWARG, h));
                }))));
    }

    /** Tool calls and tool results too, in the templates that print them. */
    @TestFactory
    Stream<DynamicNode> toolCallFieldsArePrintedLiterally() throws IOException {
        List<DynamicNode> nodes = new ArrayList<>();
        int showingArguments = 0;
        for (Path f : templates()) {
            ChatTemplate t = new ChatTemplate(Files.readString(f));
            String plain;
            try {
                plain = t.render(toolConversation(ARGUMENT, TOOL_RESULT), true, "<s>", "</s>", kwargs(KWARG, true));
            } catch (ChatTemplateException e) {
                continue; // templates that refuse this conversation shape (Gemma, Mistral Nemo, ...)
            }
            if (!plain.contains(ARGUMENT)) continue;
            showingArguments++;
            nodes.add(DynamicContainer.dynamicContainer(f.getFileName().toString(),
                    HOSTILE.stream().map(h -> DynamicTest.dynamicTest(h, () -> {
                        String hostile = t.render(toolConversation(h, h), true, "<s>", "</s>", kwargs(h, true));
                        assertLiteral(hostile, h);
                        assertThat(hostile).isEqualTo(plain.replace(ARGUMENT, h).replace(TOOL_RESULT, h)
                                .replace(KWARG, h));
                    }))));
        }
        assertThat(showingArguments).as("templates that print tool-call arguments").isGreaterThanOrEqualTo(8);
        return nodes.stream();
    }

    /** A role is data too: a template may refuse an unknown role, but never runs it. */
    @TestFactory
    Stream<DynamicNode> rolesAreNeverExecuted() throws IOException {
        return templates().stream().map(f -> DynamicContainer.dynamicContainer(f.getFileName().toString(),
                HOSTILE.stream().map(h -> DynamicTest.dynamicTest(h, () -> {
                    ChatTemplate t = new ChatTemplate(Files.readString(f));
                    String plain = null;
                    try {
                        plain = t.render(List.of(message(ROLE, "Hello")), true, "<s>", "</s>", Map.of());
                    } catch (ChatTemplateException e) {
                        // this template refuses unknown roles; the hostile one must be refused the same way
                    }
                    Throwable refused = catchThrowable(() ->
                            t.render(List.of(message(h, "Hello")), true, "<s>", "</s>", Map.of()));
                    if (plain == null) {
                        assertThat(refused).isInstanceOf(ChatTemplateException.class);
                        // a refusal may quote the role, as sent
                        assertThat(refused.getMessage().replace(h, "")).doesNotContain(ARTEFACTS);
                    } else {
                        assertThat(refused).isNull();
                        String hostile = t.render(List.of(message(h, "Hello")), true, "<s>", "</s>", Map.of());
                        assertThat(hostile).isEqualTo(plain.replace(ROLE, h));
                        // some templates print only the roles they know
                        if (plain.contains(ROLE)) assertLiteral(hostile, h);
                        else assertThat(hostile).doesNotContain(ARTEFACTS);
                    }
                }))));
    }

    /** The {@code filter} block filters its rendered body as a value; the body is never parsed again. */
    @TestFactory
    Stream<DynamicTest> filterBlocksAndPrintedCollectionsKeepDataLiteral() {
        ChatTemplate filterBlock = new ChatTemplate("{% filter trim %} {{ messages[0]['content'] }} {% endfilter %}");
        ChatTemplate wholeMessage = new ChatTemplate("{{ messages[0] }}");
        return HOSTILE.stream().map(h -> DynamicTest.dynamicTest(h, () -> {
            List<Map<String, Object>> chat = List.of(message("user", h));
            assertThat(filterBlock.render(chat, true, "", "", Map.of())).isEqualTo(h);
            // Python's repr: quotes in the text are escaped, nothing else changes
            assertThat(wholeMessage.render(chat, true, "", "", Map.of()))
                    .isEqualTo("{'role': 'user', 'content': '" + h.replace("'", "\\'") + "'}");
        }));
    }

    @ParameterizedTest
    @ValueSource(strings = {"{{ messages[0]['content']|render }}", "{{ '{{ 7*7 }}'|render }}"})
    void renderingAStringAsATemplateIsRefused(String template) {
        assertThatThrownBy(() -> new ChatTemplate(template).render(HELLO, true, "", "", Map.of()))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("render");
    }

    /** Jinja2's striptags removes markup; Jinjava's would first render the text as a template. */
    @ParameterizedTest
    @ValueSource(strings = {"{{ 7*7 }}", "{% include 'application.yml' %}"})
    void striptagsDoesNotRenderItsInput(String content) {
        String out = new ChatTemplate("{{ messages[0]['content']|striptags }}")
                .render(List.of(Map.of("role", "user", "content", "<b>Hi</b>  &amp; " + content)), true, "", "",
                        Map.of());
        assertThat(out).isEqualTo("Hi & " + content);
    }

    private static void assertLiteral(String rendered, String hostile) {
        assertThat(rendered).contains(hostile);
        assertThat(rendered.replace(hostile, "")).doesNotContain(ARTEFACTS);
    }

    static List<Path> templates() throws IOException {
        try (Stream<Path> s = Files.list(SharedFiles.require("chat-templates"))) {
            List<Path> files = s.filter(p -> p.toString().endsWith(".jinja")).sorted().toList();
            assertThat(files).hasSizeGreaterThanOrEqualTo(17);
            return files;
        }
    }

    private static List<Map<String, Object>> chat(boolean system, String user, String systemText, String name) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (system) out.add(message("system", systemText));
        Map<String, Object> u = message("user", user);
        u.put("name", name);
        out.add(u);
        return out;
    }

    private static List<Map<String, Object>> toolConversation(String argument, String result) {
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("id", "call_1");
        call.put("type", "function");
        call.put("function", Map.of("name", "get_weather", "arguments", Map.of("city", argument)));
        Map<String, Object> assistant = message("assistant", "");
        assistant.put("tool_calls", List.of(call));
        Map<String, Object> tool = message("tool", result);
        tool.put("tool_call_id", "call_1");
        tool.put("name", "get_weather");
        return List.of(message("user", "Weather?"), assistant, tool, message("user", "Thanks"));
    }

    /** Values the templates print: Llama's date, Command R7B's documents, tool descriptions. */
    private static Map<String, Object> kwargs(String value, boolean tools) {
        Map<String, Object> kwargs = new LinkedHashMap<>();
        kwargs.put("date_string", value);
        kwargs.put("documents", List.of(Map.of("title", value, "text", value)));
        if (tools) {
            Map<String, Object> parameters = Map.of("type", "object",
                    "properties", Map.of("city", Map.of("type", "string")), "required", List.of("city"));
            kwargs.put("tools", List.of(Map.of("type", "function", "function",
                    Map.of("name", "get_weather", "description", value, "parameters", parameters))));
        }
        return kwargs;
    }

    private static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
