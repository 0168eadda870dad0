package io.quire.engine;

/**
 * The engine's waiting queue cannot take a submission (vLLM answers 429 "too many requests"):
 * nothing of it was queued, and the caller may try again later.
 */
public class EngineOverloadedException extends RuntimeException {
    private final int retryAfterSeconds;

    public EngineOverloadedException(String message, int retryAfterSeconds) {
        super(message);
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** A hint for the {@code Retry-After} header. */
    public int retryAfterSeconds() { return retryAfterSeconds; }
}
