package io.quire.model;

/** A model file that is valid GGUF but cannot be run (architecture, tensor types, missing tensors). */
public class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) { super(message); }
}
