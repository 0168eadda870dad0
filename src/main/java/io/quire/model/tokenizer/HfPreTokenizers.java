package io.quire.model.tokenizer;

import tools.jackson.databind.JsonNode;

import java.nio.file.Path;

/**
 * The {@link PreTokenizer} name ({@code tokenizer.ggml.pre}) for a {@code tokenizer.json}
 * {@code pre_tokenizer}: a plain ByteLevel one splits with GPT-2's regex (after single digits, with
 * a Digits pre-tokenizer before it: SmolLM); a Split by regex before a ByteLevel is recognised by
 * its regex, as llama.cpp's converter recognises the tokenizer by hash.
 */
final class HfPreTokenizers {
    /** The upstream spelling of Llama 3's and Qwen2's split regex (Quire spells the (?i:) part out). */
    static final String LLAMA3_UPSTREAM = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2_UPSTREAM = LLAMA3_UPSTREAM.replace("\\p{N}{1,3}", "\\p{N}");

    private HfPreTokenizers() {}

    static String name(JsonNode pre, Path file) {
        String regex = null;
        boolean byteLevel = false, byteLevelSplits = false, digits = false;
        for (JsonNode p : TokenizerJson.flatten(pre)) {
            switch (p.path("type").asString("")) {
                case "Split" -> regex = p.path("pattern").path("Regex").asString(null);
                case "Digits" -> digits = p.path("individual_digits").asBoolean(false);
                case "ByteLevel" -> {
                    byteLevel = true;
                    byteLevelSplits = p.path("use_regex").asBoolean(true);
                    // GPT-2's tokenizer (and Quire's) adds no space before the text; RoBERTa-style ones do.
                    if (p.path("add_prefix_space").asBoolean(false)) {
                        throw new IllegalArgumentException(file + ": a ByteLevel pre-tokenizer with add_prefix_space"
                                + " is not supported");
                    }
                }
                default -> { }
            }
        }
        if (!byteLevel) {
            throw new IllegalArgumentException(file + ": a BPE tokenizer with neither byte_fallback nor a ByteLevel"
                    + " pre-tokenizer is not supported");
        }
        if (regex == null) {
            // SmolLM (and StarCoder): single digits split off, then GPT-2's regex.
            if (byteLevelSplits) return digits ? "smollm" : "gpt-2";
            throw new IllegalArgumentException(file + ": a ByteLevel pre-tokenizer without its regex or a Split"
                    + " is not supported");
        }
        if (regex.equals(LLAMA3_UPSTREAM) || regex.equals(PreTokenizer.LLAMA3)) return "llama-bpe";
        if (regex.equals(QWEN2_UPSTREAM) || regex.equals(PreTokenizer.QWEN2)) return "qwen2";
        if (regex.equals(PreTokenizer.GPT2)) return "gpt-2";
        // PreTokenizer.forName warns about an unknown name and falls back to GPT-2's regex.
        return "unrecognised-split-regex";
    }
}
