package io.quire.model.tokenizer;

import io.quire.model.gguf.GgufMetadata;
import io.quire.model.gguf.GgufValueType;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} (with {@code tokenizer_config.json}) turned into the
 * {@code tokenizer.ggml.*} metadata llama.cpp's converter would write for it, so the GGUF
 * tokenizers run it: BPE with {@code byte_fallback} becomes the SentencePiece tokenizer (Llama 2,
 * Mistral), byte-level BPE the GPT-2 one with the pre-tokenizer its regex names (GPT-2, Llama 3,
 * Qwen2). Other models (Unigram, WordPiece) are refused. Added tokens marked special become
 * control tokens, split out of the text before the model runs, as the GGUF path does.
 */
public final class TokenizerJson {
    /** More ids than any released vocabulary (Gemma 3's is 262,144) by far. */
    private static final int MAX_TOKENS = 1 << 22;

    public static final String FILE_NAME = "tokenizer.json";
    public static final String CONFIG_FILE_NAME = "tokenizer_config.json";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private TokenizerJson() {}

    /** The tokenizer of the model folder {@code dir}, its vocabulary padded to {@code vocabSize}. */
    public static Tokenizer load(Path dir, int vocabSize) throws IOException {
        return Tokenizers.fromGguf(metadata(dir, vocabSize));
    }

    /**
     * The metadata for {@code dir}: tokens, types, scores or merges, special ids, and
     * {@code tokenizer.chat_template} when {@code tokenizer_config.json} (or {@code chat_template.jinja}) has one.
     * Ids past the vocabulary up to {@code vocabSize} (embedding rows) become unused {@code [PADn]} tokens.
     */
    public static GgufMetadata metadata(Path dir, int vocabSize) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(dir + " has no " + FILE_NAME + " (tokenizer.model alone is not read)");
        }
        JsonNode tj = read(file);
        Path configFile = dir.resolve(CONFIG_FILE_NAME);
        JsonNode cfg = Files.isRegularFile(configFile) ? read(configFile) : JSON.createObjectNode();
        JsonNode model = tj.path("model");
        if (!model.path("type").asString("BPE").equals("BPE") || !model.path("vocab").isObject()) {
            throw new IllegalArgumentException(file + ": tokenizer model type '" + model.path("type").asString("?")
                    + "' is not supported (supported: BPE, byte-level or with byte_fallback)");
        }
        boolean spm = model.path("byte_fallback").asBoolean(false);

        Map<Integer, String> byId = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : model.path("vocab").properties()) {
            byId.put(e.getValue().asInt(), e.getKey());
        }
        Map<Integer, TokenType> added = new HashMap<>();
        List<Integer> lstrip = new ArrayList<>(), rstrip = new ArrayList<>();
        for (JsonNode t : tj.path("added_tokens")) {
            int id = t.path("id").asInt();
            byId.put(id, t.path("content").asString());
            added.put(id, t.path("special").asBoolean(false) ? TokenType.CONTROL : TokenType.USER_DEFINED);
            // Phi-3's chat tokens swallow the white space after them (rstrip), RoBERTa's <mask> before it.
            if (t.path("lstrip").asBoolean(false)) lstrip.add(id);
            if (t.path("rstrip").asBoolean(false)) rstrip.add(id);
        }
        for (int id : byId.keySet()) {
            // A corrupt file's huge or negative id would wrap or allocate without bound.
            if (id < 0 || id >= Math.max(vocabSize, MAX_TOKENS)) {
                throw new IllegalArgumentException(file + ": token id " + id + " is outside 0.." + (Math.max(vocabSize,
                        MAX_TOKENS) - 1));
            }
        }
        int n = Math.max(vocabSize, byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1);
        String[] tokens = new String[n];
        int[] types = new int[n];
        String unk = model.path("unk_token").asString(null);
        for (int i = 0; i < n; i++) {
            String t = byId.get(i);
            TokenType type;
            if (t == null) {
                t = "[PAD" + i + "]";
                type = TokenType.UNUSED;
            } else if (added.containsKey(i)) {
                type = t.equals(unk) ? TokenType.UNKNOWN : added.get(i);
            } else if (t.equals(unk)) {
                type = TokenType.UNKNOWN;
            } else {
                type = spm && t.length() == 6 && t.matches("<0x[0-9A-F]{2}>") ? TokenType.BYTE : TokenType.NORMAL;
            }
            tokens[i] = t;
            types[i] = type.ordinal();
        }

        Map<String, GgufMetadata.Entry> md = new LinkedHashMap<>();
        if (!lstrip.isEmpty()) md.put(VocabTokenizer.LSTRIP_KEY, new GgufMetadata.Entry(GgufValueType.ARRAY,
                GgufValueType.INT32, lstrip.stream().mapToInt(Integer::intValue).toArray()));
        if (!rstrip.isEmpty()) md.put(VocabTokenizer.RSTRIP_KEY, new GgufMetadata.Entry(GgufValueType.ARRAY,
                GgufValueType.INT32, rstrip.stream().mapToInt(Integer::intValue).toArray()));
        md.put("tokenizer.ggml.tokens", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.STRING, tokens));
        md.put("tokenizer.ggml.token_type", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.INT32, types));
        String[] merges = merges(model.path("merges"));
        for (JsonNode norm : flatten(tj.path("normalizer"))) {
            String type = norm.path("type").asString("");
            // Qwen's NFC (and the other Unicode forms, which tokenizers names the same as Java).
            if (type.matches("NFK?[CD]")) put(md, VocabTokenizer.NORMALIZER_KEY, type);
        }
        if (spm) {
            put(md, "tokenizer.ggml.model", "llama");
            md.put("tokenizer.ggml.scores", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.FLOAT32,
                    scores(tokens, merges)));
            md.put("tokenizer.ggml.add_space_prefix", bool(addsSpacePrefix(tj)));
            String scheme = metaspaceScheme(tj);
            if (scheme != null) put(md, SpmTokenizer.METASPACE_KEY, scheme);
        } else {
            put(md, "tokenizer.ggml.model", "gpt2");
            put(md, "tokenizer.ggml.pre", HfPreTokenizers.name(tj.path("pre_tokenizer"), file));
            md.put("tokenizer.ggml.merges", new GgufMetadata.Entry(GgufValueType.ARRAY, GgufValueType.STRING, merges));
        }
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < n; i++) ids.putIfAbsent(tokens[i], i);
        special(md, "bos", cfg.path("bos_token"), ids);
        special(md, "eos", cfg.path("eos_token"), ids);
        special(md, "unknown", cfg.path("unk_token"), ids);
        special(md, "padding", cfg.path("pad_token"), ids);
        // Without add_bos_token, a post-processor whose template starts with a special token adds it
        // (Llama 3's <|begin_of_text|>); that token is BOS when tokenizer_config.json names none.
        String leading = leadingSpecialToken(tj.path("post_processor"));
        if (!md.containsKey("tokenizer.ggml.bos_token_id") && leading != null) {
            special(md, "bos", JSON.getNodeFactory().stringNode(leading), ids);
        }
        JsonNode addBos = cfg.path("add_bos_token");
        boolean bos = addBos.isBoolean() ? addBos.asBoolean() : leading != null && ids.containsKey(leading)
                && md.containsKey("tokenizer.ggml.bos_token_id")
                && ids.get(leading) == ((Number) md.get("tokenizer.ggml.bos_token_id").value()).intValue();
        md.put("tokenizer.ggml.add_bos_token", bool(bos));
        md.put("tokenizer.ggml.add_eos_token", bool(cfg.path("add_eos_token").asBoolean(false)));
        String template = HfChatTemplate.read(dir, cfg);
        if (template != null) put(md, "tokenizer.chat_template", template);
        return new GgufMetadata(md);
    }

    /** The chat template of the folder {@code dir} ({@link HfChatTemplate}), or null; tokenizer.json unread. */
    public static String chatTemplate(Path dir) throws IOException {
        Path configFile = dir.resolve(CONFIG_FILE_NAME);
        return HfChatTemplate.read(dir, Files.isRegularFile(configFile) ? read(configFile) : JSON.createObjectNode());
    }

    /** Merges written as {@code "a b"} (older files) or {@code ["a", "b"]} (newer ones), as {@code "a b"}. */
    private static String[] merges(JsonNode node) {
        String[] out = new String[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode m = node.get(i);
            out[i] = m.isArray() ? m.get(0).asString() + " " + m.get(1).asString() : m.asString();
        }
        return out;
    }

    /**
     * SentencePiece scores from BPE merge ranks: a piece scores minus the rank of the first merge
     * that makes it, so merging the best-scored piece first applies the merges in their order (HF's
     * converter wrote them sorted by the SentencePiece score). Pieces no merge makes never outrank one.
     */
    static float[] scores(String[] tokens, String[] merges) {
        Map<String, Integer> rank = new HashMap<>();
        for (int r = 0; r < merges.length; r++) rank.putIfAbsent(merges[r].replaceFirst(" ", ""), r);
        float[] s = new float[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            Integer r = rank.get(tokens[i]);
            s[i] = r != null ? -r : -1e9f - i;
        }
        return s;
    }

    /** Llama 2 style: a Prepend("▁") normaliser, or a Metaspace pre-tokenizer that prepends. */
    private static boolean addsSpacePrefix(JsonNode tj) {
        for (JsonNode n : flatten(tj.path("normalizer"))) {
            if (n.path("type").asString("").equals("Prepend")) return true;
        }
        for (JsonNode n : flatten(tj.path("pre_tokenizer"))) {
            if (n.path("type").asString("").equals("Metaspace")) {
                return !n.path("prepend_scheme").asString("always").equals("never")
                        && n.path("add_prefix_space").asBoolean(true);
            }
        }
        return false;
    }

    /** A Metaspace pre-tokenizer's prepend_scheme ("first" or "always"), or null without one (or with "never"). */
    private static String metaspaceScheme(JsonNode tj) {
        for (JsonNode n : flatten(tj.path("pre_tokenizer"))) {
            if (n.path("type").asString("").equals("Metaspace")) {
                String scheme = n.path("prepend_scheme").asString(n.path("add_prefix_space").asBoolean(true)
                        ? "always" : "never");
                return scheme.equals("never") ? null : scheme;
            }
        }
        return null;
    }

    /** The special token a {@code TemplateProcessing} post-processor puts before a single sequence, or null. */
    private static String leadingSpecialToken(JsonNode pp) {
        for (JsonNode p : flatten(pp)) {
            JsonNode first = p.path("single").path(0).path("SpecialToken");
            if (first.isObject()) return first.path("id").asString(null);
        }
        return null;
    }

    /** A node, or the members of a {@code Sequence} node (normalizers, pretokenizers or processors). */
    static Iterable<JsonNode> flatten(JsonNode n) {
        for (String key : new String[] {"normalizers", "pretokenizers", "processors"}) {
            if (n.has(key)) return n.get(key);
        }
        return n.isObject() ? java.util.List.of(n) : java.util.List.of();
    }

    /** A special token given by name ({@code "<s>"} or {@code {"content": "<s>"}}) as its id. */
    private static void special(Map<String, GgufMetadata.Entry> md, String kind, JsonNode node,
            Map<String, Integer> ids) {
        String name = node.isObject() ? node.path("content").asString(null) : node.asString(null);
        Integer id = name == null ? null : ids.get(name);
        if (id != null) md.put("tokenizer.ggml." + kind + "_token_id",
                new GgufMetadata.Entry(GgufValueType.UINT32, null, (long) id));
    }

    private static void put(Map<String, GgufMetadata.Entry> md, String key, String value) {
        md.put(key, new GgufMetadata.Entry(GgufValueType.STRING, null, value));
    }

    private static GgufMetadata.Entry bool(boolean v) {
        return new GgufMetadata.Entry(GgufValueType.BOOL, null, v);
    }

    static JsonNode read(Path file) throws IOException {
        try {
            JsonNode n = JSON.readTree(Files.readString(file));
            if (n == null || !n.isObject()) throw new IllegalArgumentException(file + " is not a JSON object");
            return n;
        } catch (JacksonException e) {
            throw new IllegalArgumentException(file + " is not JSON (" + e.getOriginalMessage() + ")");
        }
    }
}
