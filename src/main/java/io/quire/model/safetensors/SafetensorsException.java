package io.quire.model.safetensors;

/** A safetensors checkpoint that cannot be read or used; the message names the file and the problem. */
public class SafetensorsException extends RuntimeException {
    public SafetensorsException(String message) { super(message); }
}
