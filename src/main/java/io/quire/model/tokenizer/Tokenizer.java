package io.quire.model.tokenizer;

import java.util.Set;

/** Text to token ids and back, built from a model's own vocabulary. */
public interface Tokenizer {

    /**
     * Tokenizes {@code text}.
     *
     * @param addSpecial   prepend BOS when the model adds one ({@code tokenizer.ggml.add_bos_token})
     * @param parseSpecial recognise control tokens written in the text (such as {@code <|im_start|>});
     *                     when false they are tokenized as plain text
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    default int[] encode(String text) { return encode(text, true, false); }

    /** The bytes a token stands for in output text (empty for control tokens such as BOS/EOS). */
    byte[] tokenBytes(int id);

    /** The raw vocabulary string of a token, as stored in the model file. */
    String piece(int id);

    /** Decodes a whole sequence (control tokens skipped; invalid UTF-8 replaced). */
    String decode(int[] ids);

    int vocabSize();

    /** BOS id, or -1 if the model has none. */
    int bosId();

    /** EOS id, or -1. */
    int eosId();

    /** Whether {@link #encode(String, boolean, boolean)} with addSpecial prepends BOS. */
    boolean addBos();

    /** Ids that end generation: EOS and the model's other end-of-turn tokens (such as {@code <|eot_id|>}). */
    Set<Integer> endOfGenerationIds();

    /** Whether {@code id} is a control/special token. */
    boolean isSpecial(int id);
}
