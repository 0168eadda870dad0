package io.quire.engine.structured;

/** A constraint that cannot be compiled: the message says why, for the client (an HTTP 400). */
public final class ConstraintException extends RuntimeException {
    public ConstraintException(String message) {
        super(message, null, false, false);
    }
}
