package io.quire.api.template;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Even the administrator's template loads nothing: no file, classpath resource or URL reaches a
 * prompt through include, import, from or extends.
 */
class ChatTemplateLoadingTest {
    private static final List<Map<String, Object>> HELLO = List.of(Map.of("role", "user", "content", "Hello"));

    @ParameterizedTest
    @ValueSource(strings = {
            "{% include 'file:///etc/passwd' %}",
            "{% include 'application.yml' %}",
            "{% include 'https://example.com/x.jinja' %}",
            "{% import 'file:///etc/passwd' as y %}{{ y }}",
            "{% import 'application.yml' as y %}{{ y }}",
            "{% from 'file:///etc/passwd' import y %}{{ y }}",
            "{% from 'application.yml' import y %}{{ y }}",
            "{% extends 'application.yml' %}",
    })
    void aTemplateThatLoadsIsRefused(String load) {
        ChatTemplate t = new ChatTemplate("{{ messages[0]['content'] }}" + load + "{{ messages[0]['content'] }}");
        assertThatThrownBy(() -> t.render(HELLO, true, "", "", Map.of()))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("cannot load files or other templates")
                .hasMessageNotContainingAny("root:", "quire:");
    }
}
