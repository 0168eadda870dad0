package io.quire.model.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * Turns generated token ids into text one token at a time without ever emitting half a UTF-8
 * character: the bytes of a character split across tokens (byte-fallback tokens such as
 * {@code <0xF0><0x9F>...}, or byte-level BPE pieces) are held back until it is complete.
 * Bytes that can never form a valid character come out as U+FFFD at once.
 *
 * <p>Unlike {@link Tokenizer#decode(int[])} it never strips a leading space: it is meant for the
 * tokens generated after a prompt, whose leading spaces are real text (as llama.cpp's
 * token-by-token detokenization keeps them). So the concatenated output equals {@code decode} of
 * the same ids whenever they do not start with BOS.
 *
 * <p>Not thread-safe: one instance per sequence.
 */
public final class StreamingDetokenizer {
    private final Tokenizer tokenizer;
    private final boolean skipSpecial;
    private byte[] pending = new byte[8];
    private int pendingLength;

    /** A detokenizer that skips special tokens. */
    public StreamingDetokenizer(Tokenizer tokenizer) {
        this(tokenizer, true);
    }

    /**
     * @param skipSpecial when false, control tokens render as their vocabulary text (such as
     *                    {@code <|im_end|>}) instead of nothing
     */
    public StreamingDetokenizer(Tokenizer tokenizer, boolean skipSpecial) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.skipSpecial = skipSpecial;
    }

    /** The text this token completes (possibly empty); an incomplete trailing character is held back. */
    public String add(int tokenId) {
        byte[] bytes = !skipSpecial && tokenizer.isSpecial(tokenId)
                ? tokenizer.piece(tokenId).getBytes(StandardCharsets.UTF_8)
                : tokenizer.tokenBytes(tokenId);
        if (bytes.length == 0) return "";
        if (pendingLength + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pendingLength += bytes.length;

        int complete = pendingLength - incompleteTail(pending, pendingLength);
        if (complete == 0) return "";
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, pendingLength - complete);
        pendingLength -= complete;
        return text;
    }

    /** Whatever is still held back (an unfinished character becomes U+FFFD); the stream is then empty. */
    public String flush() {
        String text = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
        pendingLength = 0;
        return text;
    }

    /**
     * How many bytes at the end of {@code b[0..n)} are a proper prefix of a valid UTF-8 sequence
     * (0 to 3): those may still be completed by the next token.
     */
    static int incompleteTail(byte[] b, int n) {
        for (int k = 1; k <= 3 && k <= n; k++) {
            int lead = b[n - k] & 0xFF;
            if ((lead & 0xC0) == 0x80) continue; // a continuation byte: look further back
            int need = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0
            && lead <= 0xF4 ? 4 : 1;
            if (need <= k) return 0; // complete (or a single byte): nothing to hold
            // The second byte's range is restricted for some leads (no overlongs, surrogates or > U+10FFFF).
            if (k >= 2) {
                int second = b[n - k + 1] & 0xFF;
                int lo = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
                int hi = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
                if (second < lo || second > hi) return 0;
            }
            return k;
        }
        return 0;
    }
}
