package io.quire.model.tokenizer;

import io.quire.model.gguf.GgufMetadata;

import java.nio.charset.StandardCharsets;
import java.util.PriorityQueue;

/**
 * SentencePiece BPE with byte fallback ({@code tokenizer.ggml.model = llama}), following llama.cpp's
 * {@code llm_tokenizer_spm}: spaces become U+2581, characters are merged pairwise, always taking
 * the adjacent pair whose merged piece has the highest score, and a character that no piece covers
 * falls back to its UTF-8 bytes as {@code <0xXX>} tokens.
 *
 * <p>With {@code tokenizer.ggml.add_space_prefix} (default true) a space is prefixed to the text at
 * the start and, as current llama.cpp does ({@code is_prev_special}), to text that follows a special
 * token split out by {@code parseSpecial}. {@link #decode} removes that one space only for a
 * sequence that starts at BOS; {@link StreamingDetokenizer} never removes it.
 */
final class SpmTokenizer extends VocabTokenizer {
    static final char SPACE_MARK = '\u2581';
    /** What llama.cpp renders for the unknown token: U+2585. */
    private static final byte[] UNKNOWN_BYTES = "\u2585".getBytes(StandardCharsets.UTF_8);

    private final float[] scores;
    private final boolean addSpacePrefix;
    /** tokenizer.json's Metaspace prepend_scheme ("first" or "always"), or null for llama.cpp's rule. */
    private final String metaspace;
    private final int[] byteTokens = new int[256];
    private final byte[][] decoded;

    /** Not a GGUF key: how {@link TokenizerJson} passes on a Metaspace pre-tokenizer's prepend_scheme. */
    static final String METASPACE_KEY = "tokenizer.quire.metaspace_prepend_scheme";

    SpmTokenizer(GgufMetadata md) {
        super(md, true, 1, 2, 0);
        float[] s = md.getFloatArray("tokenizer.ggml.scores");
        if (s != null && s.length != pieces.length) {
            throw new IllegalArgumentException("tokenizer.ggml.scores has " + s.length
                    + " entries but the vocabulary has " + pieces.length);
        }
        this.scores = s != null ? s : new float[pieces.length];
        this.addSpacePrefix = md.getBoolean("tokenizer.ggml.add_space_prefix", true);
        this.metaspace = md.getString(METASPACE_KEY, null);
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.format("<0x%02X>", b));
            if (id == null) id = ids.get(String.valueOf((char) b)); // llama.cpp's fallback: the byte as a character
            byteTokens[b] = id != null ? id : unk;
        }
        this.decoded = new byte[pieces.length][];
        for (int i = 0; i < pieces.length; i++) decoded[i] = computeBytes(i);
    }

    private byte[] computeBytes(int id) {
        String p = pieces[id];
        return switch (types[id]) {
            case NORMAL, UNDEFINED -> p.replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
            case USER_DEFINED -> p.getBytes(StandardCharsets.UTF_8);
            case BYTE -> new byte[] {(byte) parseByteToken(p)};
            case UNKNOWN -> UNKNOWN_BYTES.clone();
            case CONTROL, UNUSED -> new byte[0];
        };
    }

    private static int parseByteToken(String p) {
        if (p.length() == 6 && p.startsWith("<0x") && p.endsWith(">")) {
            try {
                return Integer.parseInt(p.substring(3, 5), 16);
            } catch (NumberFormatException ignored) {
                // fall through
            }
        }
        throw new IllegalArgumentException("byte token '" + p + "' is not of the form <0xXX>");
    }

    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        return decoded[id].clone();
    }

    @Override
    protected boolean stripsPrefixSpace() { return addSpacePrefix; }

    /** One symbol of the linked list being merged: the text range {@code [start, start+len)}. */
    private static final class Symbol {
        int start, len, prev, next;
    }

    private record Bigram(int left, int right, float score, int len) {}

    @Override
    protected void encodeText(String fragment, boolean afterSpecialOrStart, IntList out) {
        encodeText(fragment, afterSpecialOrStart, afterSpecialOrStart, out);
    }

    @Override
    protected void encodeText(String fragment, boolean afterSpecialOrStart, boolean atStart, IntList out) {
        // llama.cpp (and a tokenizer.json Prepend normaliser) prefix every fragment that starts the text
        // or follows a special token; a Metaspace pre-tokenizer only one that does not already start
        // with a space, and with prepend_scheme "first" only at the start of the whole text.
        boolean prefix = addSpacePrefix && (metaspace == null ? afterSpecialOrStart
                : !fragment.startsWith(" ") && (atStart || metaspace.equals("always")));
        // llama.cpp escapes only the space character, not other white space.
        String text = (prefix ? " " + fragment : fragment).replace(' ', SPACE_MARK);
        if (text.isEmpty()) return;

        Symbol[] symbols = new Symbol[text.length()];
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            int len = Character.charCount(text.codePointAt(i));
            Symbol s = new Symbol();
            s.start = i;
            s.len = len;
            s.prev = n - 1;
            i += len;
            s.next = i == text.length() ? -1 : n + 1;
            symbols[n++] = s;
        }

        // Highest score first; on a tie the leftmost pair.
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) ->
                a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) tryAddBigram(text, symbols, i - 1, i, queue);

        while (!queue.isEmpty()) {
            Bigram bg = queue.poll();
            Symbol left = symbols[bg.left], right = symbols[bg.right];
            // Skip pairs made stale by an earlier merge of either side.
            if (left.len == 0 || right.len == 0 || left.len + right.len != bg.len) continue;
            left.len += right.len;
            right.len = 0;
            left.next = right.next;
            if (right.next >= 0) symbols[right.next].prev = bg.left;
            tryAddBigram(text, symbols, left.prev, bg.left, queue);
            tryAddBigram(text, symbols, bg.left, left.next, queue);
        }

        for (int i = 0; i != -1 && i < n; i = symbols[i].next) {
            Symbol s = symbols[i];
            String piece = text.substring(s.start, s.start + s.len);
            Integer id = ids.get(piece);
            if (id != null) {
                out.add(id);
            } else {
                // Only single characters can be missing (every merge produced a vocabulary piece).
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) out.add(byteTokens[b & 0xFF]);
            }
        }
    }

    private void tryAddBigram(String text, Symbol[] symbols, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) return;
        Symbol l = symbols[left], r = symbols[right];
        int len = l.len + r.len;
        Integer id = ids.get(text.substring(l.start, l.start + len));
        if (id == null) return;
        queue.add(new Bigram(left, right, scores[id], len));
    }
}
