package io.quire.cli.bench;

/** One server-sent event's data (its {@code data:} lines joined by newlines) and when its last line arrived. */
public record SseEvent(String data, long arrivalNanos) {
    /** OpenAI's end-of-stream marker. */
    public boolean isDone() {
        return "[DONE]".equals(data.strip());
    }
}
