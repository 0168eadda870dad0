package io.quire.engine;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StopStringMatcherTest {

    @Test
    void releasesTextThatCannotStartAStopString() {
        StopStringMatcher m = new StopStringMatcher(List.of("END"), false);
        assertThat(m.add("hello ", true)).isEqualTo("hello ");
        assertThat(m.add("E", true)).isEmpty();          // might be END
        assertThat(m.add("N", true)).isEmpty();          // "EN" still might
        assertThat(m.add("d", true)).isEqualTo("ENd");   // no longer can
        assertThat(m.add("xxE", true)).isEqualTo("xx");
        assertThat(m.add("ND and more", true)).isEmpty();
        assertThat(m.matched()).isEqualTo("END");
        assertThat(m.add("after", true)).isEmpty();
        assertThat(m.flush()).isEmpty();
    }

    @Test
    void stopStringInsideOnePiece() {
        StopStringMatcher m = new StopStringMatcher(List.of("\n\n", "stop"), false);
        assertThat(m.add("one\n", true)).isEqualTo("one");
        assertThat(m.add("\ntwo", true)).isEmpty();
        assertThat(m.matched()).isEqualTo("\n\n");
    }

    @Test
    void includesTheStopStringWhenAsked() {
        StopStringMatcher m = new StopStringMatcher(List.of("ab"), true);
        assertThat(m.add("xa", true)).isEqualTo("x");
        assertThat(m.add("bc", true)).isEqualTo("ab");
    }

    @Test
    void earliestStopWinsAndFlushReleasesHeldText() {
        StopStringMatcher m = new StopStringMatcher(List.of("zz", "b"), false);
        assertThat(m.add("a zz b", true)).isEqualTo("a ");
        StopStringMatcher f = new StopStringMatcher(List.of("xyz"), false);
        assertThat(f.add("abcxy", true)).isEqualTo("abc");
        assertThat(f.flush()).isEqualTo("xy");
    }

    @Test
    void stopStringsDoNotCountBeforeMinTokens() {
        StopStringMatcher m = new StopStringMatcher(List.of("a"), false);
        assertThat(m.add("bab", false)).isEqualTo("bab");
        assertThat(m.matched()).isNull();
        assertThat(m.add("ca", true)).isEqualTo("c");
        assertThat(m.matched()).isEqualTo("a");
    }

    @Test
    void withoutStopStringsEverythingIsReleased() {
        StopStringMatcher m = new StopStringMatcher(List.of(), false);
        assertThat(m.add("abc", true)).isEqualTo("abc");
    }
}
