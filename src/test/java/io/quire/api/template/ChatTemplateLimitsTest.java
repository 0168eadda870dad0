package io.quire.api.template;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * A template cannot keep a request thread busy or fill memory: time, output, collections and
 * macro recursion are bounded, and a render over a bound fails with a ChatTemplateException
 * (the API's 400) within about the time limit.
 */
class ChatTemplateLimitsTest {
    private static final List<Map<String, Object>> HELLO = List.of(Map.of("role", "user", "content", "Hello"));
    /** The render limit is 2 s; contended CI machines get a second on top. */
    private static final Duration QUICKLY = Duration.ofSeconds(3);

    @Test
    void aBillionLoopIterationsStopAtTheTimeLimit() {
        String loops = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
                + "{% set x = c %}{% endfor %}{% endfor %}{% endfor %}";
        assertFailsQuickly(loops, "longer than 2000 ms");
    }

    @Test
    void hugeOutputStopsAtTheOutputLimit() {
        String kilobyte = "x".repeat(1024);
        String output = "{% for a in range(1000) %}{% for b in range(1000) %}" + kilobyte + "{% endfor %}{% endfor %}";
        assertFailsQuickly(output, "output is longer than");
    }

    @Test
    void hugeStringsStopAtTheOutputLimit() {
        String doubling = "{% set s = 'xxxxxxxx' %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}"
                + "{{ s|length }}";
        assertFailsQuickly(doubling, "output is longer than");
    }

    @Test
    void hugeListsStopAtTheCollectionLimit() {
        String doubling = "{% set l = [1] %}{% for i in range(40) %}{% set l = l + l %}{% endfor %}{{ l|length }}";
        assertFailsQuickly(doubling, "more than 100000 items");
    }

    @Test
    void endlessRecursionStopsAtTheDepthLimit() {
        assertFailsQuickly("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
                "macro 'f' recursed deeper than 64");
    }

    /** 2^60 calls, none deeper than 60. */
    @Test
    void exponentialRecursionStopsAtTheTimeLimit() {
        String tree = "{% macro f(n) %}{% if n < 60 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}";
        assertFailsQuickly(tree, "longer than 2000 ms");
    }

    /** Jinja2 allows recursive macros (Hermes' json_to_python_type uses one); only depth is bounded. */
    @Test
    void boundedRecursionStillWorks() {
        String out = new ChatTemplate("{% macro f(n) %}[{{ n }}{% if n < 5 %}{{ f(n + 1) }}{% endif %}]{% endmacro %}"
                + "{{ f(0) }}").render(HELLO, true, "", "", Map.of());
        assertThat(out).isEqualTo("[0[1[2[3[4[5]]]]]]");
    }

    /** The next render after an aborted one starts with a fresh time budget. */
    @Test
    void aTemplateStillRendersAfterATimeout() {
        ChatTemplate t = new ChatTemplate("{% if messages[0]['content'] == 'spin' %}{% for a in range(1000) %}"
                + "{% for b in range(1000) %}{% for c in range(1000) %}{% endfor %}{% endfor %}{% endfor %}"
                + "{% endif %}{{ messages[0]['content'] }}");
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThatThrownBy(() ->
                t.render(List.of(Map.of("role", "user", "content", "spin")), true, "", "", Map.of()))
                .isInstanceOf(ChatTemplateException.class));
        assertThat(t.render(HELLO, true, "", "", Map.of())).isEqualTo("Hello");
    }

    private static void assertFailsQuickly(String template, String message) {
        ChatTemplate t = new ChatTemplate(template);
        // Preemptive, so that an unbounded render fails the test instead of hanging it.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            long start = System.nanoTime();
            assertThatThrownBy(() -> t.render(HELLO, true, "", "", Map.of()))
                    .isInstanceOf(ChatTemplateException.class)
                    .hasMessageContaining(message);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(QUICKLY);
        });
    }
}
