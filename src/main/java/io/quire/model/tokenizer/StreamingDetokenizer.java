package io.quire.model.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * TEMPORARY stand-in written by the engine branch against the API the tokenizer helper is
 * building ({@code new StreamingDetokenizer(tokenizer, skipSpecial)}, {@code add}, {@code flush});
 * it is deleted when the real one lands on main. Turns tokens into text one at a time, holding
 * back the bytes of an incomplete UTF-8 character.
 */
public final class StreamingDetokenizer {
    private final Tokenizer tokenizer;
    private final boolean skipSpecial;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    public StreamingDetokenizer(Tokenizer tokenizer, boolean skipSpecial) {
        this.tokenizer = tokenizer;
        this.skipSpecial = skipSpecial;
    }

    /** Adds a token and returns the text it completes (possibly empty). */
    public String add(int id) {
        byte[] bytes = tokenizer.isSpecial(id) && !skipSpecial ? tokenizer.piece(id).getBytes(StandardCharsets.UTF_8) : tokenizer.tokenBytes(id);
        pending.writeBytes(bytes);
        byte[] all = pending.toByteArray();
        int complete = completePrefix(all);
        pending.reset();
        pending.write(all, complete, all.length - complete);
        return new String(all, 0, complete, StandardCharsets.UTF_8);
    }

    /** Releases whatever is held back (invalid bytes become U+FFFD). */
    public String flush() {
        String s = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return s;
    }

    /** Length of the prefix that does not end inside an unfinished UTF-8 character. */
    private static int completePrefix(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(3, n); back++) {
            int c = b[n - back] & 0xff;
            if ((c & 0xc0) == 0x80) continue; // continuation byte: look further back
            int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
            return len > back ? n - back : n;
        }
        return n;
    }
}
