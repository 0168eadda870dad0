package io.quire.cli.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SseParserTest {

    private static List<SseEvent> parse(String... lines) {
        SseParser p = new SseParser();
        for (int i = 0; i < lines.length; i++) p.line(lines[i], 100L * (i + 1));
        return p.finish();
    }

    @Test
    void oneEventPerDataLineAndBlankLine() {
        List<SseEvent> events = parse("data: {\"a\":1}", "", "data: [DONE]", "");
        assertThat(events).containsExactly(new SseEvent("{\"a\":1}", 100), new SseEvent("[DONE]", 300));
        assertThat(events.get(1).isDone()).isTrue();
        assertThat(events.get(0).isDone()).isFalse();
    }

    @Test
    void joinsMultipleDataLinesAndStampsTheLastOne() {
        List<SseEvent> events = parse("data: first", "data:second", "", "");
        assertThat(events).containsExactly(new SseEvent("first\nsecond", 200));
    }

    @Test
    void dropsOnlyOneLeadingSpaceAndIgnoresCommentsAndOtherFields() {
        List<SseEvent> events = parse(": keep-alive", "event: message", "id: 7", "data:  two spaces", "retry: 5", "");
        assertThat(events).containsExactly(new SseEvent(" two spaces", 400));
    }

    @Test
    void handlesCarriageReturnsAndAMissingFinalBlankLine() {
        List<SseEvent> events = parse("data: x\r", "\r", "data: [DONE]");
        assertThat(events).extracting(SseEvent::data).containsExactly("x", "[DONE]");
    }

    @Test
    void blankLinesWithoutDataMakeNoEvent() {
        assertThat(parse("", "", ": comment", "")).isEmpty();
        assertThat(parse("data:", "")).containsExactly(new SseEvent("", 100));
    }
}
