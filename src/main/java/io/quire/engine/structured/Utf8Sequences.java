package io.quire.engine.structured;

import java.util.List;

/**
 * Splits a code point range into sequences of byte ranges that match exactly its UTF-8
 * encodings (RE2's and Rust's {@code utf8-ranges} method), so the automaton reads bytes and a
 * token that ends inside a character is judged by the bytes it has.
 */
final class Utf8Sequences {
    private Utf8Sequences() {}

    /** Adds to {@code out} byte-range sequences: each an array {@code lo0, hi0, lo1, hi1, ...}. */
    static void split(int lo, int hi, List<int[]> out) {
        if (lo > hi) return;
        int[] bounds = {0x7F, 0x7FF, 0xFFFF};
        for (int b : bounds) {
            if (lo <= b && hi > b) {
                split(lo, b, out);
                split(b + 1, hi, out);
                return;
            }
        }
        if (hi <= 0x7F) {
            out.add(new int[] {lo, hi});
            return;
        }
        for (int i = 1; i < 4; i++) {
            int max = (1 << (6 * i)) - 1;
            if ((lo & ~max) != (hi & ~max)) {
                if ((lo & max) != 0) {
                    split(lo, lo | max, out);
                    split((lo | max) + 1, hi, out);
                    return;
                }
                if ((hi & max) != max) {
                    split(lo, (hi & ~max) - 1, out);
                    split(hi & ~max, hi, out);
                    return;
                }
            }
        }
        byte[] a = encode(lo), b = encode(hi);
        int[] seq = new int[a.length * 2];
        for (int i = 0; i < a.length; i++) {
            seq[2 * i] = a[i] & 0xFF;
            seq[2 * i + 1] = b[i] & 0xFF;
        }
        out.add(seq);
    }

    static byte[] encode(int cp) {
        if (cp < 0x80) return new byte[] {(byte) cp};
        if (cp < 0x800) return new byte[] {(byte) (0xC0 | cp >> 6), (byte) (0x80 | cp & 0x3F)};
        if (cp < 0x10000) {
            return new byte[] {(byte) (0xE0 | cp >> 12), (byte) (0x80 | cp >> 6 & 0x3F), (byte) (0x80 | cp & 0x3F)};
        }
        return new byte[] {(byte) (0xF0 | cp >> 18), (byte) (0x80 | cp >> 12 & 0x3F), (byte) (0x80 | cp >> 6 & 0x3F),
                (byte) (0x80 | cp & 0x3F)};
    }
}
