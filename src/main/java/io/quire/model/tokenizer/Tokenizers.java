package io.quire.model.tokenizer;

import io.quire.model.gguf.GgufMetadata;

/**
 * Builds the tokenizer a GGUF file describes, from its metadata alone (no weights needed). The
 * tokenizers are immutable and safe to share between threads.
 */
public final class Tokenizers {
    private Tokenizers() {}

    /**
     * The tokenizer for {@code tokenizer.ggml.model}: {@code llama} (SentencePiece BPE with byte
     * fallback) or {@code gpt2} (byte-level BPE, pre-tokenizer from {@code tokenizer.ggml.pre}).
     *
     * @throws IllegalArgumentException for another or a missing model, or an inconsistent vocabulary
     */
    public static Tokenizer fromGguf(GgufMetadata md) {
        String model = md.getString("tokenizer.ggml.model");
        if (model == null) {
            throw new IllegalArgumentException("GGUF metadata has no tokenizer.ggml.model: the file carries no "
                    + "tokenizer");
        }
        return switch (model) {
            case "llama" -> new SpmTokenizer(md);
            case "gpt2" -> new BpeTokenizer(md);
            default -> throw new IllegalArgumentException("unsupported tokenizer.ggml.model '" + model
                    + "' (supported: 'llama' SentencePiece, 'gpt2' byte-level BPE)");
        };
    }

    /**
     * {@code tokenizer} with {@code ids} also ending generation (like EOS: {@code ignore_eos} lifts
     * them too), as a Hugging Face folder's {@code generation_config.json} lists them.
     *
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public static Tokenizer withEndOfGeneration(Tokenizer tokenizer, Iterable<Integer> ids) {
        return ExtraEndOfGeneration.of(tokenizer, ids);
    }
}
