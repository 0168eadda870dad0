package io.quire.api;

import io.quire.model.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * vLLM's {@code bad_words} as token sequences, found as vLLM finds them: each word (leading spaces
 * stripped) as it tokenizes at the start of a text, and with a space before it as inside one, the
 * latter only where that gives another first token in as many tokens.
 */
final class BadWords {
    private BadWords() {}

    /** The words' token sequences; null when none are sent. */
    static List<List<Integer>> tokenIds(List<String> words, Tokenizer tokenizer) {
        if (words == null || words.isEmpty()) return null;
        List<List<Integer>> out = new ArrayList<>();
        for (String word : words) {
            String bare = word.stripLeading();
            if (bare.isEmpty()) throw ApiException.badRequest("bad_words", "bad_words cannot contain an empty word.");
            List<Integer> start = ids(tokenizer.encode(bare, false, false));
            out.add(start);
            List<Integer> inside = ids(tokenizer.encode(" " + bare, false, false));
            if (!inside.getFirst().equals(start.getFirst()) && inside.size() == start.size()) out.add(inside);
        }
        return List.copyOf(out);
    }

    private static List<Integer> ids(int[] tokens) {
        List<Integer> l = new ArrayList<>(tokens.length);
        for (int t : tokens) l.add(t);
        return List.copyOf(l);
    }
}
