package io.quire.engine.structured;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Sets of code points as sorted, disjoint, inclusive range pairs (what {@link RegexNode.CharSet} holds). */
final class CharRanges {
    static final int MAX = 0x10FFFF;
    static final int[] ANY = {0, 0xD7FF, 0xE000, MAX};
    static final int[] DIGIT = {'0', '9'};
    static final int[] WORD = {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'};
    static final int[] SPACE = {'\t', '\r', ' ', ' '};

    private CharRanges() {}

    /** Sorts and merges arbitrary pairs; surrogates never match (UTF-8 cannot encode them). */
    static int[] normalize(List<int[]> pairs) {
        List<int[]> ps = new ArrayList<>(pairs);
        ps.sort((a, b) -> Integer.compare(a[0], b[0]));
        List<int[]> out = new ArrayList<>();
        for (int[] p : ps) {
            if (p[0] > p[1]) continue;
            if (!out.isEmpty() && out.getLast()[1] >= p[0] - 1) {
                out.getLast()[1] = Math.max(out.getLast()[1], p[1]);
            } else {
                out.add(new int[] {p[0], p[1]});
            }
        }
        return intersect(flatten(out), ANY);
    }

    static int[] of(int[]... sets) {
        List<int[]> pairs = new ArrayList<>();
        for (int[] s : sets) for (int i = 0; i < s.length; i += 2) pairs.add(new int[] {s[i], s[i + 1]});
        return normalize(pairs);
    }

    static int[] complement(int[] set) {
        List<int[]> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < set.length; i += 2) {
            if (set[i] > next) out.add(new int[] {next, set[i] - 1});
            next = set[i + 1] + 1;
        }
        if (next <= MAX) out.add(new int[] {next, MAX});
        return normalize(out);
    }

    static int[] intersect(int[] a, int[] b) {
        List<int[]> out = new ArrayList<>();
        int i = 0, j = 0;
        while (i < a.length && j < b.length) {
            int lo = Math.max(a[i], b[j]), hi = Math.min(a[i + 1], b[j + 1]);
            if (lo <= hi) out.add(new int[] {lo, hi});
            if (a[i + 1] < b[j + 1]) i += 2;
            else j += 2;
        }
        return flatten(out);
    }

    static int[] caseInsensitive(int[] set) {
        List<int[]> pairs = new ArrayList<>();
        for (int i = 0; i < set.length; i += 2) {
            pairs.add(new int[] {set[i], set[i + 1]});
            int lo = Math.max(set[i], 'A'), hi = Math.min(set[i + 1], 'Z');
            if (lo <= hi) pairs.add(new int[] {lo + 32, hi + 32});
            lo = Math.max(set[i], 'a');
            hi = Math.min(set[i + 1], 'z');
            if (lo <= hi) pairs.add(new int[] {lo - 32, hi - 32});
        }
        return normalize(pairs);
    }

    private static int[] flatten(List<int[]> pairs) {
        int[] out = new int[pairs.size() * 2];
        for (int i = 0; i < pairs.size(); i++) {
            out[2 * i] = pairs.get(i)[0];
            out[2 * i + 1] = pairs.get(i)[1];
        }
        return out;
    }

    static String toString(int[] set) { return Arrays.toString(set); }
}
