package io.quire.engine.structured;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The deterministic automaton of an {@link Nfa}, built lazily: a state is the set of NFA states
 * that can still reach the end, made the first time some byte sequence leads there, with its 256
 * transitions filled in as they are taken. Only states that can still finish exist, so a step that
 * leaves none is {@link #DEAD} and every state has a way to the end. Not thread-safe; its owner
 * ({@link TokenConstraint}) serializes access.
 */
final class ByteDfa {
    static final int DEAD = -1;
    private static final int UNKNOWN = -2;
    /** Most states one constraint may build (each holds 1KB of transitions and a token mask). */
    static final int MAX_STATES = 100_000;

    private final Nfa nfa;
    private final Map<Key, Integer> ids = new HashMap<>();
    private final List<int[]> sets = new ArrayList<>();
    private final List<int[]> transitions = new ArrayList<>();
    private boolean[] accepting = new boolean[16];
    private int[] distance = new int[16];
    private final int start;
    // Scratch for closures: a stamp per NFA state, and a stack.
    private final int[] mark;
    private int stamp;
    private int[] stack;
    private int[] found;

    private record Key(int[] states) {
        @Override public boolean equals(Object o) { return o instanceof Key k && Arrays.equals(states, k.states); }
        @Override public int hashCode() { return Arrays.hashCode(states); }
    }

    ByteDfa(Nfa nfa) {
        this.nfa = nfa;
        this.mark = new int[nfa.size()];
        this.stack = new int[64];
        this.found = new int[64];
        if (nfa.distance(nfa.start) == Nfa.DEAD) {
            throw new ConstraintException("The constraint admits no output at all.");
        }
        this.start = closure(new int[] {nfa.start}, 1);
    }

    int start() { return start; }

    boolean accepting(int state) { return accepting[state]; }

    /** Fewest bytes from {@code state} to an accepted end. */
    int distance(int state) { return distance[state]; }

    int numStates() { return sets.size(); }

    /** The state after reading byte {@code b} (0-255), or {@link #DEAD}. */
    int step(int state, int b) {
        int[] t = transitions.get(state);
        int next = t[b];
        if (next != UNKNOWN) return next;
        int[] set = sets.get(state);
        int n = 0;
        int[] targets = new int[8];
        for (int s : set) {
            for (int i = 0, c = nfa.edgeCount(s); i < c; i++) {
                int to = nfa.edgeTarget(s, i, b);
                if (to >= 0 && nfa.distance(to) != Nfa.DEAD) {
                    if (n == targets.length) targets = Arrays.copyOf(targets, n * 2);
                    targets[n++] = to;
                }
            }
        }
        next = n == 0 ? DEAD : closure(targets, n);
        t[b] = next;
        return next;
    }

    /** The state for the empty-transition closure of {@code seeds[0, n)}, made if new. */
    private int closure(int[] seeds, int n) {
        stamp++;
        int sp = 0, count = 0;
        for (int i = 0; i < n; i++) {
            int s = seeds[i];
            if (mark[s] == stamp) continue;
            mark[s] = stamp;
            stack = push(stack, sp++, s);
        }
        while (sp > 0) {
            int s = stack[--sp];
            found = push(found, count++, s);
            for (int i = 0, c = nfa.epsCount(s); i < c; i++) {
                int t = nfa.eps(s, i);
                if (mark[t] != stamp && nfa.distance(t) != Nfa.DEAD) {
                    mark[t] = stamp;
                    stack = push(stack, sp++, t);
                }
            }
        }
        int[] set = Arrays.copyOf(found, count);
        Arrays.sort(set);
        Key key = new Key(set);
        Integer id = ids.get(key);
        if (id != null) return id;
        int d = sets.size();
        if (d == MAX_STATES) {
            throw new ConstraintException("The constraint is too large: its automaton grew past " + MAX_STATES
                    + " states while generating.");
        }
        ids.put(key, d);
        sets.add(set);
        int[] t = new int[256];
        Arrays.fill(t, UNKNOWN);
        transitions.add(t);
        if (d == accepting.length) {
            accepting = Arrays.copyOf(accepting, 2 * d);
            distance = Arrays.copyOf(distance, 2 * d);
        }
        int best = Nfa.DEAD;
        for (int s : set) best = Math.min(best, nfa.distance(s));
        distance[d] = best;
        accepting[d] = best == 0 && Arrays.binarySearch(set, nfa.accept) >= 0;
        return d;
    }

    private static int[] push(int[] a, int i, int v) {
        if (i == a.length) a = Arrays.copyOf(a, 2 * i);
        a[i] = v;
        return a;
    }
}
