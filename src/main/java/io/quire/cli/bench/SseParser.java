package io.quire.cli.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns the lines of a {@code text/event-stream} body into events, following the WHATWG rules
 * that matter here: an empty line ends an event, {@code data:} lines accumulate (one space after
 * the colon is dropped), lines starting with {@code :} are comments, other fields are ignored.
 * An event still open when the stream ends is kept: some servers omit the last blank line.
 * Each event is stamped with the arrival time of its last data line, which is when a client
 * could first have seen its token.
 */
public final class SseParser {
    private final List<SseEvent> events = new ArrayList<>();
    private final StringBuilder data = new StringBuilder();
    private boolean hasData;
    private long lastDataNanos;

    public void line(String line, long arrivalNanos) {
        if (!line.isEmpty() && line.charAt(line.length() - 1) == '\r') {
            line = line.substring(0, line.length() - 1);
        }
        if (line.isEmpty()) {
            dispatch();
            return;
        }
        if (line.charAt(0) == ':') {
            return;
        }
        int colon = line.indexOf(':');
        String field = colon < 0 ? line : line.substring(0, colon);
        String value = colon < 0 ? "" : line.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        if (field.equals("data")) {
            if (hasData) data.append('\n');
            data.append(value);
            hasData = true;
            lastDataNanos = arrivalNanos;
        }
    }

    /** Ends the stream and returns every event in arrival order. */
    public List<SseEvent> finish() {
        dispatch();
        return List.copyOf(events);
    }

    private void dispatch() {
        if (hasData) {
            events.add(new SseEvent(data.toString(), lastDataNanos));
        }
        data.setLength(0);
        hasData = false;
    }
}
