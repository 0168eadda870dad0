package io.quire.model.gguf;

/** A model file that cannot be read as GGUF; the message names the problem. */
public class GgufFormatException extends RuntimeException {
    public GgufFormatException(String message) { super(message); }
    public GgufFormatException(String message, Throwable cause) { super(message, cause); }
}
