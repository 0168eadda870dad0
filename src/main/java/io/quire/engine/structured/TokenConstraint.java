package io.quire.engine.structured;

import java.util.Arrays;

/**
 * A compiled constraint bound to a model's vocabulary: which tokens each automaton state allows,
 * found by walking the {@link TokenVocabulary} trie along the {@link ByteDfa} and cached per state
 * (the same state, in any sequence of any request with the same constraint, costs one lookup),
 * and where each allowed token leads. One instance is shared by every request with the same
 * constraint ({@link ConstraintCompiler} caches it); each sequence keeps its own position in a
 * {@link ConstraintState}. Its methods synchronize: states and masks are built as they are first
 * needed.
 */
public final class TokenConstraint {
    /** What one state allows: the token ids (ascending), the state each leads to, and the farthest end among those. */
    record Mask(int[] ids, int[] next, int maxNextDistance) {}

    private final ByteDfa dfa;
    private final TokenVocabulary vocab;
    private Mask[] masks = new Mask[16];

    TokenConstraint(ByteDfa dfa, TokenVocabulary vocab) {
        this.dfa = dfa;
        this.vocab = vocab;
    }

    TokenVocabulary vocabulary() { return vocab; }

    synchronized int start() { return dfa.start(); }

    synchronized boolean accepting(int state) { return dfa.accepting(state); }

    /** Fewest bytes, so at most this many tokens when every byte is a token, from {@code state} to an end. */
    synchronized int distance(int state) { return dfa.distance(state); }

    /** States built so far (for tests and the bench). */
    synchronized int numStates() { return dfa.numStates(); }

    /** The tokens {@code state} allows, computed on first use. */
    synchronized Mask mask(int state) {
        if (state >= masks.length) masks = Arrays.copyOf(masks, Math.max(2 * masks.length, state + 1));
        Mask m = masks[state];
        if (m == null) {
            m = walk(state);
            masks[state] = m;
        }
        return m;
    }

    /** The state after {@code token}: an end-of-generation token keeps it; a token the state does not allow is DEAD. */
    synchronized int next(int state, int token) {
        if (vocab.endIds.contains(token)) return state;
        Mask m = mask(state);
        int i = Arrays.binarySearch(m.ids, token);
        return i >= 0 ? m.next[i] : ByteDfa.DEAD;
    }

    /** Every token whose bytes keep the output alive from {@code state}: one depth-first pass over the trie. */
    private Mask walk(int state) {
        int[] ids = new int[64], next = new int[64];
        int count = 0, maxDist = 0;
        int[] nodeStack = new int[64], stateStack = new int[64];
        int sp = 0;
        nodeStack[sp] = 0;
        stateStack[sp++] = state;
        while (sp > 0) {
            int node = nodeStack[--sp], s = stateStack[sp];
            for (int c = vocab.firstChild[node]; c >= 0; c = vocab.nextSibling[c]) {
                int ns = dfa.step(s, vocab.label[c]);
                if (ns == ByteDfa.DEAD) continue;
                for (int k = vocab.tokenStart[c]; k < vocab.tokenStart[c + 1]; k++) {
                    if (count == ids.length) {
                        ids = Arrays.copyOf(ids, 2 * count);
                        next = Arrays.copyOf(next, 2 * count);
                    }
                    ids[count] = vocab.tokens[k];
                    next[count++] = ns;
                    maxDist = Math.max(maxDist, dfa.distance(ns));
                }
                if (vocab.firstChild[c] >= 0) {
                    if (sp == nodeStack.length) {
                        nodeStack = Arrays.copyOf(nodeStack, 2 * sp);
                        stateStack = Arrays.copyOf(stateStack, 2 * sp);
                    }
                    nodeStack[sp] = c;
                    stateStack[sp++] = ns;
                }
            }
        }
        // Sort ids ascending, carrying their next states along.
        long[] packed = new long[count];
        for (int i = 0; i < count; i++) packed[i] = ((long) ids[i] << 32) | next[i];
        Arrays.sort(packed);
        int[] sortedIds = new int[count], sortedNext = new int[count];
        for (int i = 0; i < count; i++) {
            sortedIds[i] = (int) (packed[i] >>> 32);
            sortedNext[i] = (int) packed[i];
        }
        return new Mask(sortedIds, sortedNext, maxDist);
    }
}
