package io.quire.model.tokenizer;

/** The kind of a vocabulary entry, as stored in {@code tokenizer.ggml.token_type}. */
public enum TokenType {
    UNDEFINED, NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE;

    /** The type with GGUF id {@code id} (1 normal ... 6 byte); other values are {@link #UNDEFINED}. */
    public static TokenType fromId(int id) {
        return id >= 1 && id <= 6 ? values()[id] : UNDEFINED;
    }
}
