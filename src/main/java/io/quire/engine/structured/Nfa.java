package io.quire.engine.structured;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Thompson automaton over UTF-8 bytes built from a {@link RegexNode}: states with byte-range
 * and empty transitions, one start and one accepting state. After building, every state knows
 * the fewest bytes from it to the end ({@link #distance}; {@link #DEAD} when the end is out of
 * reach), which lets the DFA keep only states that can still finish and lets the sampler close
 * the output before the token budget runs out.
 */
final class Nfa {
    static final int DEAD = Integer.MAX_VALUE;
    /** Largest automaton built; a bigger constraint is refused rather than risking the engine's memory. */
    static final int MAX_STATES = 400_000;

    private int size;
    private int[][] eps = new int[64][];
    private int[] epsCount = new int[64];
    /** Per state: lo, hi, target triples. */
    private int[][] edges = new int[64][];
    private int[] edgeCount = new int[64];
    final int start;
    final int accept;
    private int[] distance;

    Nfa(RegexNode root) {
        int[] f = build(root);
        start = f[0];
        accept = f[1];
        computeDistances();
    }

    int size() { return size; }

    int distance(int state) { return distance[state]; }

    int epsCount(int s) { return epsCount[s]; }

    int eps(int s, int i) { return eps[s][i]; }

    int edgeCount(int s) { return edgeCount[s]; }

    /** The target of state s's i-th edge if it reads {@code b}, else -1. */
    int edgeTarget(int s, int i, int b) {
        int[] e = edges[s];
        return b >= e[3 * i] && b <= e[3 * i + 1] ? e[3 * i + 2] : -1;
    }

    private int newState() {
        if (size == MAX_STATES) {
            throw new ConstraintException("The constraint is too large: its automaton needs more than "
                    + MAX_STATES + " states.");
        }
        if (size == eps.length) {
            int n = size * 2;
            eps = Arrays.copyOf(eps, n);
            epsCount = Arrays.copyOf(epsCount, n);
            edges = Arrays.copyOf(edges, n);
            edgeCount = Arrays.copyOf(edgeCount, n);
        }
        return size++;
    }

    private void addEps(int from, int to) {
        if (eps[from] == null) eps[from] = new int[2];
        else if (epsCount[from] == eps[from].length) eps[from] = Arrays.copyOf(eps[from], epsCount[from] * 2);
        eps[from][epsCount[from]++] = to;
    }

    private void addEdge(int from, int lo, int hi, int to) {
        if (edges[from] == null) edges[from] = new int[6];
        else if (3 * edgeCount[from] == edges[from].length) edges[from] = Arrays.copyOf(edges[from], 6 * edgeCount[from]);
        int k = 3 * edgeCount[from]++;
        edges[from][k] = lo;
        edges[from][k + 1] = hi;
        edges[from][k + 2] = to;
    }

    /**
     * A lone UTF-16 surrogate (U+D800 to U+DFFF, which a JSON string's or a regex's escape can name)
     * has no UTF-8 encoding: the automaton would admit invalid bytes, so the constraint is refused.
     * Sets built from ranges never hold one ({@link CharRanges#normalize}); single characters can.
     */
    private static void refuseSurrogates(int[] ranges) {
        for (int i = 0; i < ranges.length; i += 2) {
            int lo = Math.max(ranges[i], Character.MIN_SURROGATE), hi = Math.min(ranges[i + 1], Character.MAX_SURROGATE);
            if (lo <= hi) {
                throw new ConstraintException(String.format("The constraint holds a lone surrogate (U+%04X): half of"
                        + " a UTF-16 pair has no UTF-8 encoding, so no output can hold it.", lo));
            }
        }
    }

    /** A fragment for {@code n}: its start and end state. */
    private int[] build(RegexNode n) {
        int s = newState(), e;
        switch (n) {
            case RegexNode.CharSet c -> {
                refuseSurrogates(c.ranges());
                e = newState();
                List<int[]> seqs = new ArrayList<>();
                for (int i = 0; i < c.ranges().length; i += 2) Utf8Sequences.split(c.ranges()[i], c.ranges()[i + 1], seqs);
                for (int[] seq : seqs) {
                    int from = s;
                    for (int i = 0; i < seq.length; i += 2) {
                        int to = i + 2 == seq.length ? e : newState();
                        addEdge(from, seq[i], seq[i + 1], to);
                        from = to;
                    }
                }
            }
            case RegexNode.Concat c -> {
                int cur = s;
                for (RegexNode part : c.parts()) {
                    int[] f = build(part);
                    addEps(cur, f[0]);
                    cur = f[1];
                }
                e = cur;
            }
            case RegexNode.Alt a -> {
                e = newState();
                for (RegexNode o : a.options()) {
                    int[] f = build(o);
                    addEps(s, f[0]);
                    addEps(f[1], e);
                }
            }
            case RegexNode.Repeat r -> {
                int cur = s;
                for (int i = 0; i < r.min(); i++) {
                    int[] f = build(r.node());
                    addEps(cur, f[0]);
                    cur = f[1];
                }
                if (r.max() < 0) {
                    int[] f = build(r.node());
                    int loop = newState();
                    addEps(cur, loop);
                    addEps(loop, f[0]);
                    addEps(f[1], loop);
                    cur = loop;
                } else {
                    e = newState();
                    for (int i = r.min(); i < r.max(); i++) {
                        addEps(cur, e);
                        int[] f = build(r.node());
                        addEps(cur, f[0]);
                        cur = f[1];
                    }
                    addEps(cur, e);
                    cur = e;
                }
                e = cur;
            }
            case RegexNode.Members m -> {
                // a[i]: nothing written yet, at item i; b[i]: something written, at item i.
                int count = m.items().size();
                int[] a = new int[count + 1], b = new int[count + 1];
                a[0] = s;
                for (int i = 1; i <= count; i++) {
                    a[i] = newState();
                    b[i] = newState();
                }
                for (int i = 0; i < count; i++) {
                    boolean optional = !m.required().get(i);
                    int[] f = build(m.items().get(i));
                    addEps(a[i], f[0]);
                    addEps(f[1], b[i + 1]);
                    if (optional) addEps(a[i], a[i + 1]);
                    if (i > 0) {
                        int[] g = build(RegexNode.concat(m.sep(), m.items().get(i)));
                        addEps(b[i], g[0]);
                        addEps(g[1], b[i + 1]);
                        if (optional) addEps(b[i], b[i + 1]);
                    }
                }
                e = newState();
                addEps(a[count], e); // reachable only when every item is optional
                if (count > 0) addEps(b[count], e);
            }
            case RegexNode.SepList l -> {
                e = newState();
                int[] item = build(l.item());
                int[] sep = build(l.sep());
                addEps(s, item[0]);
                addEps(item[1], e);
                addEps(item[1], sep[0]);
                addEps(sep[1], item[0]);
                if (l.optional()) addEps(s, e);
            }
        }
        return new int[] {s, e};
    }

    /** Fewest bytes from each state to the accepting one: a 0-1 BFS over the reversed transitions. */
    private void computeDistances() {
        int[][] revEps = reverse(true), revEdges = reverse(false);
        distance = new int[size];
        Arrays.fill(distance, DEAD);
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        distance[accept] = 0;
        queue.add(accept);
        while (!queue.isEmpty()) {
            int t = queue.poll();
            int d = distance[t];
            for (int s : revEps[t]) {
                if (distance[s] > d) {
                    distance[s] = d;
                    queue.addFirst(s);
                }
            }
            for (int s : revEdges[t]) {
                if (distance[s] > d + 1) {
                    distance[s] = d + 1;
                    queue.addLast(s);
                }
            }
        }
    }

    private int[][] reverse(boolean epsilon) {
        int[] count = new int[size];
        for (int s = 0; s < size; s++) {
            if (epsilon) for (int i = 0; i < epsCount[s]; i++) count[eps[s][i]]++;
            else for (int i = 0; i < edgeCount[s]; i++) count[edges[s][3 * i + 2]]++;
        }
        int[][] rev = new int[size][];
        for (int t = 0; t < size; t++) rev[t] = new int[count[t]];
        Arrays.fill(count, 0);
        for (int s = 0; s < size; s++) {
            if (epsilon) for (int i = 0; i < epsCount[s]; i++) { int t = eps[s][i]; rev[t][count[t]++] = s; }
            else for (int i = 0; i < edgeCount[s]; i++) { int t = edges[s][3 * i + 2]; rev[t][count[t]++] = s; }
        }
        return rev;
    }
}
