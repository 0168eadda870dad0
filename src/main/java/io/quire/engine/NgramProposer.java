package io.quire.engine;

/**
 * Drafts tokens by prompt lookup (vLLM's {@code ngram} method): the longest suffix of a sequence's
 * tokens, from {@code max} down to {@code min} tokens, is looked for earlier in them (prompt and
 * output), latest occurrence first, and the tokens that followed it are the draft. Where the match
 * is so recent that fewer than the wanted tokens follow it, the copy runs on into what it has just
 * drafted (as LZ77 copies overlap): a loop of period p drafts the loop again, where a plain copy
 * would stop after p tokens. A draft is only a guess; the step verifies it ({@link TokenProcessor}).
 */
final class NgramProposer {
    /** No draft (shared: a step asks every decoding sequence). */
    static final int[] NONE = new int[0];

    private final int min;
    private final int max;

    NgramProposer(int min, int max) {
        if (min < 1 || max < min) throw new IllegalArgumentException("n-gram sizes " + min + ".." + max);
        this.min = min;
        this.max = max;
    }

    /**
     * Up to {@code k} tokens to follow {@code tokens[0 .. length-1]}, an empty array when no suffix of
     * at least {@code min} tokens occurred before.
     */
    int[] propose(int[] tokens, int length, int k) {
        if (k <= 0 || length < 2) return NONE;
        int last = tokens[length - 1];
        for (int n = Math.min(max, length - 1); n >= min; n--) {
            int suffix = length - n;
            // j: where an earlier occurrence starts; it ends before the suffix's last token
            for (int j = suffix - 1; j >= 0; j--) {
                if (tokens[j + n - 1] != last || !same(tokens, j, suffix, n - 1)) continue;
                int[] draft = new int[k];
                for (int i = 0; i < k; i++) {
                    int from = j + n + i;
                    draft[i] = from < length ? tokens[from] : draft[from - length];
                }
                return draft;
            }
        }
        return NONE;
    }

    private static boolean same(int[] tokens, int a, int b, int n) {
        for (int i = 0; i < n; i++) if (tokens[a + i] != tokens[b + i]) return false;
        return true;
    }
}
