package io.quire.engine;

/**
 * A structured-output constraint that cannot be compiled (a bad regex, an unsupported JSON Schema
 * keyword...). The engine does not know which request field held it; the HTTP layer names it.
 */
public final class InvalidConstraintException extends InvalidRequestException {
    public InvalidConstraintException(String message) {
        super(null, message);
    }
}
