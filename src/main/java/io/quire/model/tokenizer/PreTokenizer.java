package io.quire.model.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the words that byte-level BPE merges within, using the regular expressions of
 * the model's pre-tokenizer ({@code tokenizer.ggml.pre}). Like llama.cpp's {@code unicode_regex_split},
 * the expressions are applied in order, each one splitting every piece left by the previous one
 * into its matches and the text between them (nothing is dropped).
 */
public final class PreTokenizer {
    private static final System.Logger LOG = System.getLogger(PreTokenizer.class.getName());

    /** GPT-2's pattern. */
    static final String GPT2 =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    /**
     * Llama 3's pattern. Upstream writes the contractions as {@code (?i:'s|'t|...)}; like llama.cpp
     * we spell the case-insensitivity out so it is ASCII-only whatever the regex engine's flags.
     */
    static final String LLAMA3 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Qwen2's pattern: Llama 3's with single digits. */
    static final String QWEN2 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private final String name;
    private final List<Pattern> patterns;
    private final boolean ignoreMerges;

    private PreTokenizer(String name, boolean ignoreMerges, String... regexes) {
        this.name = name;
        this.ignoreMerges = ignoreMerges;
        this.patterns = new ArrayList<>();
        // UNICODE_CHARACTER_CLASS: \s must be Unicode white space, as in the upstream (Rust/Oniguruma) regexes.
        for (String r : regexes) patterns.add(Pattern.compile(r, Pattern.UNICODE_CHARACTER_CLASS));
    }

    /**
     * The pre-tokenizer for a {@code tokenizer.ggml.pre} value (null means GPT-2's). Names follow
     * llama.cpp's grouping; an unknown name falls back to GPT-2's pattern with a warning.
     */
    public static PreTokenizer forName(String pre) {
        String p = pre == null ? "gpt-2" : pre;
        return switch (p) {
            case "gpt-2", "mpt", "olmo", "jais", "trillion" -> new PreTokenizer(p, false, GPT2);
            // llama.cpp's own fallback for converters that did not recognise the pre-tokenizer.
            case "default" -> new PreTokenizer(p, false, "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+",
                    "[0-9][0-9][0-9]");
            // Llama 3 also sets ignore_merges: a word that is itself a token is not merged piecewise.
            case "llama3", "llama-v3", "llama-bpe" -> new PreTokenizer(p, true, LLAMA3);
            case "dbrx", "smaug-bpe", "chatglm-bpe" -> new PreTokenizer(p, false, LLAMA3);
            case "qwen2", "stablelm2", "hunyuan" -> new PreTokenizer(p, false, QWEN2);
            case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b" ->
                    new PreTokenizer(p, false, "\\p{N}", GPT2);
            case "falcon" -> new PreTokenizer(p, false, "[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]");
            default -> {
                LOG.log(System.Logger.Level.WARNING,
                        "unknown tokenizer.ggml.pre ''{0}'', using GPT-2''s pre-tokenizer; tokens may differ from "
                        + "the reference", p);
                yield new PreTokenizer(p, false, GPT2);
            }
        };
    }

    /** The {@code tokenizer.ggml.pre} name this was made for. */
    public String name() { return name; }

    /** Whether a word that is already a vocabulary token is emitted whole, skipping merges. */
    boolean ignoreMerges() { return ignoreMerges; }

    /** The words of {@code text}, in order; their concatenation is {@code text}. */
    public List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        if (text.isEmpty()) return pieces;
        pieces.add(text);
        for (Pattern pattern : patterns) {
            List<String> next = new ArrayList<>(pieces.size() * 2);
            for (String piece : pieces) {
                Matcher m = pattern.matcher(piece);
                int last = 0;
                while (m.find()) {
                    if (m.end() == m.start()) continue; // an empty match splits nothing
                    if (m.start() > last) next.add(piece.substring(last, m.start()));
                    next.add(piece.substring(m.start(), m.end()));
                    last = m.end();
                }
                if (last < piece.length()) next.add(piece.substring(last));
            }
            pieces = next;
        }
        return pieces;
    }
}
