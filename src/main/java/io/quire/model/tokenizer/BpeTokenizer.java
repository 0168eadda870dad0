package io.quire.model.tokenizer;

import io.quire.model.gguf.GgufMetadata;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-level BPE ({@code tokenizer.ggml.model = gpt2}), following llama.cpp's {@code llm_tokenizer_bpe}:
 * the text is split into words by the pre-tokenizer, each word's UTF-8 bytes are mapped to GPT-2's
 * printable characters, and adjacent pieces are merged lowest merge rank first.
 */
final class BpeTokenizer extends VocabTokenizer {
    private final PreTokenizer preTokenizer;
    /** Merge rank by pair, keyed {@code "left right"} (mapped pieces never contain a real space). */
    private final Map<String, Integer> ranks;
    private final byte[][] decoded;

    BpeTokenizer(GgufMetadata md) {
        super(md, false, -1, -1, -1);
        String[] merges = md.getStringArray("tokenizer.ggml.merges");
        if (merges == null) {
            throw new IllegalArgumentException("GGUF metadata has no tokenizer.ggml.merges, which a gpt2 (BPE) "
                    + "tokenizer needs");
        }
        this.ranks = new HashMap<>(merges.length * 2);
        for (int i = 0; i < merges.length; i++) {
            String m = merges[i];
            // Search from index 1, like llama.cpp, so a pair whose left piece is a space still splits.
            int sp = m.indexOf(' ', 1);
            if (sp < 0) throw new IllegalArgumentException("tokenizer.ggml.merges[" + i + "] = '" + m
                    + "' is not two pieces separated by a space");
            ranks.putIfAbsent(m, i);
        }
        this.preTokenizer = PreTokenizer.forName(md.getString("tokenizer.ggml.pre"));
        this.decoded = new byte[pieces.length][];
        for (int i = 0; i < pieces.length; i++) {
            decoded[i] = switch (types[i]) {
                case NORMAL, UNDEFINED -> ByteLevel.decode(pieces[i]);
                case USER_DEFINED -> pieces[i].getBytes(StandardCharsets.UTF_8);
                default -> new byte[0]; // control, unknown, unused and byte tokens render as nothing, as in llama.cpp
            };
        }
    }

    /** The pre-tokenizer chosen from {@code tokenizer.ggml.pre}. */
    PreTokenizer preTokenizer() { return preTokenizer; }

    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        return decoded[id].clone();
    }

    private static final class Symbol {
        int start, len, prev, next;
    }

    private record Bigram(int left, int right, int rank, int len) {}

    @Override
    protected void encodeText(String text, boolean afterSpecialOrStart, IntList out) {
        for (String word : preTokenizer.split(text)) encodeWord(ByteLevel.encode(word), out);
    }

    private void encodeWord(String word, IntList out) {
        if (word.isEmpty()) return;
        if (preTokenizer.ignoreMerges()) {
            Integer whole = ids.get(word);
            if (whole != null) { out.add(whole); return; }
        }
        // Mapped characters are all in the BMP: one char per symbol.
        int n = word.length();
        Symbol[] symbols = new Symbol[n];
        for (int i = 0; i < n; i++) {
            Symbol s = new Symbol();
            s.start = i;
            s.len = 1;
            s.prev = i - 1;
            s.next = i + 1 == n ? -1 : i + 1;
            symbols[i] = s;
        }
        // Lowest rank first; on a tie the leftmost pair.
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) ->
                a.rank != b.rank ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) addBigram(word, symbols, i - 1, i, queue);

        while (!queue.isEmpty()) {
            Bigram bg = queue.poll();
            Symbol left = symbols[bg.left], right = symbols[bg.right];
            if (left.len == 0 || right.len == 0 || left.len + right.len != bg.len) continue; // stale
            left.len += right.len;
            right.len = 0;
            left.next = right.next;
            if (right.next >= 0) symbols[right.next].prev = bg.left;
            addBigram(word, symbols, left.prev, bg.left, queue);
            addBigram(word, symbols, bg.left, left.next, queue);
        }

        for (int i = 0; i != -1; i = symbols[i].next) {
            Symbol s = symbols[i];
            String piece = word.substring(s.start, s.start + s.len);
            Integer id = ids.get(piece);
            if (id != null) {
                out.add(id);
            } else {
                // No such token (a vocabulary without all merge results): emit the single characters that exist.
                for (int k = 0; k < piece.length(); k++) {
                    Integer c = ids.get(piece.substring(k, k + 1));
                    if (c != null) out.add(c);
                }
            }
        }
    }

    private void addBigram(String word, Symbol[] symbols, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) return;
        Symbol l = symbols[left], r = symbols[right];
        String key = word.substring(l.start, l.start + l.len) + ' ' + word.substring(r.start, r.start + r.len);
        Integer rank = ranks.get(key);
        if (rank == null) return;
        queue.add(new Bigram(left, right, rank, l.len + r.len));
    }
}
