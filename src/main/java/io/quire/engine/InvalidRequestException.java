package io.quire.engine;

/**
 * A request the engine refuses (a parameter out of range, a prompt too long for the context).
 * The HTTP layer turns it into a 400 with OpenAI's error body.
 *
 * @see #param() the offending request field, or null
 */
public class InvalidRequestException extends RuntimeException {
    private final String param;

    public InvalidRequestException(String param, String message) {
        super(message);
        this.param = param;
    }

    public String param() { return param; }
}
