package io.quire.api.template;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The locator behind every template refuses every name, whatever tag or function asks. */
class NoResourceLocatorTest {
    @ParameterizedTest
    @ValueSource(strings = {"file:///etc/passwd", "application.yml", "chat.jinja", "https://example.com/t.jinja"})
    void refusesEverything(String name) {
        assertThatThrownBy(() -> new NoResourceLocator().getString(name, StandardCharsets.UTF_8, null))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("cannot load files or other templates")
                .hasMessageContaining(name);
    }
}
