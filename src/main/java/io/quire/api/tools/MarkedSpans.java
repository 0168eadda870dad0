package io.quire.api.tools;

/**
 * Splits streamed text at a start and an end marker, holding back only what could still become a
 * marker, so a stream never shows half of {@code <tool_call>} as content. Text outside the markers
 * goes to {@link #outside}, a whole span between them (markers dropped) to {@link #span}; a span
 * still open when the output ends is handed over too, since models often stop before the end marker.
 */
final class MarkedSpans {
    /** Where the pieces go. */
    interface Sink {
        void outside(String text);

        void span(String body, boolean closed);
    }

    private final String start;
    /** Null: a span runs to the end of the output. */
    private final String end;
    private final Sink sink;
    private final StringBuilder pending = new StringBuilder();
    private boolean inside;

    MarkedSpans(String start, String end, Sink sink) {
        this.start = start;
        this.end = end;
        this.sink = sink;
    }

    void push(String text) {
        pending.append(text);
        while (true) {
            if (!inside) {
                int at = pending.indexOf(start);
                if (at < 0) {
                    int keep = partialMarkerAtEnd(pending, start);
                    emitOutside(pending.length() - keep);
                    return;
                }
                emitOutside(at);
                pending.delete(0, start.length());
                inside = true;
            } else {
                if (end == null) return;
                int at = pending.indexOf(end);
                if (at < 0) return;
                sink.span(pending.substring(0, at), true);
                pending.delete(0, at + end.length());
                inside = false;
            }
        }
    }

    /** The output ended: whatever is held back is given out. */
    void finish() {
        if (inside) {
            sink.span(pending.toString(), end == null);
        } else if (!pending.isEmpty()) {
            sink.outside(pending.toString());
        }
        pending.setLength(0);
        inside = false;
    }

    private void emitOutside(int upTo) {
        if (upTo <= 0) return;
        sink.outside(pending.substring(0, upTo));
        pending.delete(0, upTo);
    }

    /** The length of the longest tail of {@code text} that begins {@code marker}. */
    static int partialMarkerAtEnd(CharSequence text, String marker) {
        for (int len = Math.min(marker.length() - 1, text.length()); len > 0; len--) {
            boolean match = true;
            for (int i = 0; i < len && match; i++) {
                match = text.charAt(text.length() - len + i) == marker.charAt(i);
            }
            if (match) return len;
        }
        return 0;
    }
}
