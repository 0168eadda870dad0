package io.quire.model.tokenizer;

import io.quire.model.gguf.GgufMetadata;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF vocabulary as {@code tokenizer.json} and {@code tokenizer_config.json} the way
 * transformers' converters do: SentencePiece ({@code llama}) as BPE with byte fallback, its merges
 * every split of every piece into two pieces, ordered by the merged piece's score (their
 * {@code SentencePieceExtractor}); byte-level BPE ({@code gpt2}) with its merges as stored.
 */
public final class HfTokenizerFiles {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private HfTokenizerFiles() {}

    public static void write(GgufMetadata md, Path dir, String chatTemplate) throws IOException {
        String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
        int[] types = md.getIntArray("tokenizer.ggml.token_type");
        boolean spm = md.getString("tokenizer.ggml.model").equals("llama");
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < tokens.length; i++) {
            TokenType t = types == null ? TokenType.NORMAL : TokenType.fromId(types[i]);
            if (t == TokenType.CONTROL || t == TokenType.UNKNOWN || t == TokenType.USER_DEFINED) {
                added.addObject().put("id", i).put("content", tokens[i]).put("single_word", false)
                        .put("lstrip", false).put("rstrip", false).put("normalized", t == TokenType.USER_DEFINED)
                        .put("special", t != TokenType.USER_DEFINED);
            }
        }
        ObjectNode model = JSON.createObjectNode();
        model.put("type", "BPE");
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < tokens.length; i++) vocab.put(tokens[i], i);
        ArrayNode merges = model.putArray("merges");
        if (spm) {
            ObjectNode replace = JSON.createObjectNode().put("type", "Replace").put("content", "\u2581");
            replace.putObject("pattern").put("String", " ");
            var normalizers = root.putObject("normalizer").put("type", "Sequence").putArray("normalizers");
            // Gemma's SentencePiece adds no space in front (tokenizer.ggml.add_space_prefix false).
            if (md.getBoolean("tokenizer.ggml.add_space_prefix", true)) {
                normalizers.add(JSON.createObjectNode().put("type", "Prepend").put("prepend", "\u2581"));
            }
            normalizers.add(replace);
            root.putNull("pre_tokenizer");
            model.put("unk_token", "<unk>").put("byte_fallback", true).put("fuse_unk", true);
            for (String m : spmMerges(tokens, md.getFloatArray("tokenizer.ggml.scores"))) merges.add(m);
        } else {
            root.putNull("normalizer");
            String pre = md.getString("tokenizer.ggml.pre", "gpt-2");
            String regex = switch (pre) {
                case "llama-bpe" -> HfPreTokenizers.LLAMA3_UPSTREAM;
                case "qwen2" -> HfPreTokenizers.QWEN2_UPSTREAM;
                default -> null;
            };
            ObjectNode byteLevel = JSON.createObjectNode().put("type", "ByteLevel").put("add_prefix_space", false)
                    .put("trim_offsets", true).put("use_regex", regex == null);
            if (regex == null) {
                root.set("pre_tokenizer", byteLevel);
            } else {  // Llama 3 and Qwen2: a Split by their regex, then ByteLevel without its own regex
                ObjectNode split = JSON.createObjectNode().put("type", "Split").put("behavior", "Isolated")
                        .put("invert", false);
                split.putObject("pattern").put("Regex", regex);
                root.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers").add(split)
                        .add(byteLevel);
            }
            model.put("byte_fallback", false);
            for (String m : md.getStringArray("tokenizer.ggml.merges")) merges.add(m);
        }
        root.set("model", model);
        Files.writeString(dir.resolve(TokenizerJson.FILE_NAME), JSON.writeValueAsString(root));

        ObjectNode config = JSON.createObjectNode();
        long bos = md.getLong("tokenizer.ggml.bos_token_id", -1), eos = md.getLong("tokenizer.ggml.eos_token_id", -1);
        if (bos >= 0) config.put("bos_token", tokens[(int) bos]);
        if (eos >= 0) config.put("eos_token", tokens[(int) eos]);
        if (spm) config.put("unk_token", "<unk>");
        config.put("add_bos_token", md.getBoolean("tokenizer.ggml.add_bos_token", spm));
        if (chatTemplate != null) config.put("chat_template", chatTemplate);
        Files.writeString(dir.resolve(TokenizerJson.CONFIG_FILE_NAME), JSON.writeValueAsString(config));
    }

    /** Every (left, right) split of a normal piece into two pieces, best merged score first. */
    static List<String> spmMerges(String[] tokens, float[] scores) {
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < tokens.length; i++) ids.putIfAbsent(tokens[i], i);
        record Merge(String left, String right, float score, int leftId, int rightId) {}
        List<Merge> all = new ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            String t = tokens[i];
            List<Merge> local = new ArrayList<>();
            for (int at = t.offsetByCodePoints(0, 1); at < t.length(); at = t.offsetByCodePoints(at, 1)) {
                Integer l = ids.get(t.substring(0, at)), r = ids.get(t.substring(at));
                if (l != null && r != null) local.add(new Merge(t.substring(0, at), t.substring(at), scores[i], l, r));
            }
            local.sort(Comparator.comparingInt(Merge::leftId).thenComparingInt(Merge::rightId));
            all.addAll(local);
        }
        all.sort(Comparator.comparingDouble((Merge m) -> -m.score()));  // stable, as Python's sorted
        return all.stream().map(m -> m.left() + " " + m.right()).toList();
    }
}
