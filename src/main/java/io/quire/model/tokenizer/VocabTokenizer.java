package io.quire.model.tokenizer;

import io.quire.model.gguf.GgufMetadata;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What SentencePiece and byte-level BPE tokenizers share: the vocabulary read from GGUF metadata,
 * special-token ids, splitting special tokens out of the text, and decoding.
 */
abstract sealed class VocabTokenizer implements Tokenizer permits SpmTokenizer, BpeTokenizer {
    /** Token names that end a turn in the chat formats we know; they end generation when special. */
    private static final List<String> END_OF_TURN_NAMES =
            List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>");

    protected final String[] pieces;
    protected final TokenType[] types;
    protected final Map<String, Integer> ids;
    protected final int bos, eos, unk;
    protected final boolean addBos, addEos;
    private final Set<Integer> endOfGeneration;
    /** Unicode normal form applied to text between special tokens (tokenizer.json's NFC/NFKC normaliser), or null. */
    private final java.text.Normalizer.Form normalForm;
    /** Not a GGUF key: how {@link TokenizerJson} passes on a Unicode normaliser ("NFC", "NFKC", ...). */
    static final String NORMALIZER_KEY = "tokenizer.quire.unicode_normalizer";
    /** Not GGUF keys: added tokens that take the white space before (lstrip) or after (rstrip) them along. */
    static final String LSTRIP_KEY = "tokenizer.quire.lstrip_ids", RSTRIP_KEY = "tokenizer.quire.rstrip_ids";
    private final java.util.BitSet lstrip = new java.util.BitSet(), rstrip = new java.util.BitSet();
    /** Control, unknown and user-defined tokens, longest text first (the order they are matched in). */
    private final int[] specialByLength;

    protected VocabTokenizer(GgufMetadata md, boolean defaultAddBos, int defaultBos, int defaultEos, int defaultUnk) {
        String form = md.getString(NORMALIZER_KEY, null);
        this.normalForm = form == null ? null : java.text.Normalizer.Form.valueOf(form);
        String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("GGUF metadata has no tokenizer.ggml.tokens: the file carries no"
                    + " vocabulary");
        }
        this.pieces = tokens;
        int[] typeIds = md.getIntArray("tokenizer.ggml.token_type");
        if (typeIds != null && typeIds.length != tokens.length) {
            throw new IllegalArgumentException("tokenizer.ggml.token_type has " + typeIds.length
                    + " entries but tokenizer.ggml.tokens has " + tokens.length);
        }
        this.types = new TokenType[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            types[i] = typeIds == null ? TokenType.NORMAL : TokenType.fromId(typeIds[i]);
        }
        for (String key : new String[] {LSTRIP_KEY, RSTRIP_KEY}) {
            int[] list = md.getIntArray(key);
            if (list == null) continue;
            for (int id : list) {
                if (id < 0 || id >= tokens.length) throw new IllegalArgumentException(key + " names token " + id
                        + ", outside the vocabulary of " + tokens.length);
                (key.equals(LSTRIP_KEY) ? lstrip : rstrip).set(id);
            }
        }
        this.ids = new HashMap<>(tokens.length * 2);
        for (int i = 0; i < tokens.length; i++) ids.put(tokens[i], i); // later duplicates win, as in llama.cpp

        this.bos = tokenId(md, "tokenizer.ggml.bos_token_id", defaultBos);
        this.eos = tokenId(md, "tokenizer.ggml.eos_token_id", defaultEos);
        this.unk = tokenId(md, "tokenizer.ggml.unknown_token_id", defaultUnk);
        int eot = tokenId(md, "tokenizer.ggml.eot_token_id", -1);
        int eom = tokenId(md, "tokenizer.ggml.eom_token_id", -1);
        this.addBos = md.getBoolean("tokenizer.ggml.add_bos_token", defaultAddBos) && bos >= 0;
        this.addEos = md.getBoolean("tokenizer.ggml.add_eos_token", false) && eos >= 0;

        Set<Integer> eog = new LinkedHashSet<>();
        for (int id : new int[] {eos, eot, eom}) if (id >= 0) eog.add(id);
        for (String name : END_OF_TURN_NAMES) {
            Integer id = ids.get(name);
            // User-defined too: some converters mark chat markers that way, and they still end a turn.
            if (id != null && (types[id] == TokenType.CONTROL || types[id] == TokenType.USER_DEFINED)) eog.add(id);
        }
        this.endOfGeneration = Collections.unmodifiableSet(eog);

        List<Integer> special = new ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            TokenType t = types[i];
            if ((t == TokenType.CONTROL || t == TokenType.UNKNOWN || t == TokenType.USER_DEFINED)
                    && !tokens[i].isEmpty()) {
                special.add(i);
            }
        }
        special.sort(Comparator.comparingInt((Integer i) -> -tokens[i].length()).thenComparingInt(i -> i));
        this.specialByLength = special.stream().mapToInt(Integer::intValue).toArray();
    }

    private int tokenId(GgufMetadata md, String key, int fallback) {
        long v = md.getLong(key, fallback);
        if (v < -1 || v >= pieces.length) {
            throw new IllegalArgumentException(key + " = " + v + " is outside the vocabulary of " + pieces.length
                    + " tokens");
        }
        return (int) v;
    }

    // ---- encoding -------------------------------------------------------------------------------

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        Objects.requireNonNull(text, "text");
        IntList out = new IntList(text.length() / 3 + 4);
        if (addSpecial && addBos) out.add(bos);
        boolean previousWasSpecial = true; // the start of the text counts as following a special token
        for (Fragment f : partition(text, parseSpecial)) {
            if (f.token >= 0) {
                out.add(f.token);
                previousWasSpecial = true;
            } else {
                String fragment = text.substring(f.start, f.end);
                if (normalForm != null) fragment = java.text.Normalizer.normalize(fragment, normalForm);
                encodeText(fragment, previousWasSpecial, f.start == 0, out);
                previousWasSpecial = false;
            }
        }
        if (addSpecial && addEos) out.add(eos);
        return out.toArray();
    }

    /** Tokenizes plain text (no special tokens in it) onto {@code out}. */
    protected abstract void encodeText(String text, boolean afterSpecialOrStart, IntList out);

    /** As above, told also whether the fragment begins the whole text. */
    protected void encodeText(String text, boolean afterSpecialOrStart, boolean atStart, IntList out) {
        encodeText(text, afterSpecialOrStart, out);
    }

    /** A piece of the input: a special token ({@code token >= 0}) or raw text {@code [start, end)}. */
    private record Fragment(int token, int start, int end) {}

    /** Unicode White_Space, as Rust's char::is_whitespace (Java's isWhitespace leaves out no-break spaces). */
    private static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    /**
     * Splits special tokens written literally in {@code text} out of it, longest token first, as
     * llama.cpp's {@code tokenizer_st_partition} does. User-defined tokens are always recognised
     * (like Hugging Face's non-special added tokens); control and unknown tokens only with
     * {@code parseSpecial}.
     */
    private List<Fragment> partition(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) return fragments;
        fragments.add(new Fragment(-1, 0, text.length()));
        for (int id : specialByLength) {
            if (!parseSpecial && types[id] != TokenType.USER_DEFINED) continue;
            String s = pieces[id];
            if (!text.contains(s)) continue;
            List<Fragment> next = new ArrayList<>(fragments.size() + 4);
            for (Fragment f : fragments) {
                if (f.token >= 0) { next.add(f); continue; }
                int pos = f.start;
                while (true) {
                    int hit = text.indexOf(s, pos);
                    if (hit < 0 || hit + s.length() > f.end) break;
                    // lstrip/rstrip: the white space beside the token goes with it, as in tokenizers.
                    int from = hit, to = hit + s.length();
                    if (lstrip.get(id)) while (from > pos && isSpace(text.charAt(from - 1))) from--;
                    if (rstrip.get(id)) while (to < f.end && isSpace(text.charAt(to))) to++;
                    if (from > pos) next.add(new Fragment(-1, pos, from));
                    next.add(new Fragment(id, from, to));
                    pos = to;
                }
                if (pos < f.end) next.add(new Fragment(-1, pos, f.end));
            }
            fragments = next;
        }
        return fragments;
    }

    // ---- decoding -------------------------------------------------------------------------------

    protected final void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + pieces.length
                    + ")");
        }
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    /** The id of the token whose vocabulary string is {@code piece}, or -1. */
    public int tokenId(String piece) {
        Integer id = ids.get(piece);
        return id == null ? -1 : id;
    }

    @Override
    public String decode(int[] tokenIds) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(tokenIds.length * 4);
        // A whole sequence that starts at BOS was encoded with the space prefix: drop that one space.
        boolean stripSpace = stripsPrefixSpace() && tokenIds.length > 0 && tokenIds[0] == bos;
        for (int id : tokenIds) {
            byte[] b = tokenBytes(id);
            if (stripSpace && b.length > 0) {
                stripSpace = false;
                if (b[0] == ' ') { out.write(b, 1, b.length - 1); continue; }
            }
            out.writeBytes(b);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Whether encoding prefixes a space that {@link #decode} should remove after a leading BOS. */
    protected boolean stripsPrefixSpace() { return false; }

    @Override public int vocabSize() { return pieces.length; }
    @Override public int bosId() { return bos; }
    @Override public int eosId() { return eos; }
    @Override public boolean addBos() { return addBos; }
    @Override public Set<Integer> endOfGenerationIds() { return endOfGeneration; }

    @Override
    public boolean isSpecial(int id) {
        checkId(id);
        return types[id] == TokenType.CONTROL;
    }

    /** A growable int array, to avoid boxing every token id. */
    static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) { a = new int[Math.max(capacity, 4)]; }

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int[] toArray() { return Arrays.copyOf(a, n); }
    }
}
