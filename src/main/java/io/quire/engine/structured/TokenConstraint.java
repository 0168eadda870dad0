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
    /**
     * What one state allows: a bit per token id (a vocabulary-sized bitmap, 4KB for 32,000 tokens,
     * whatever the number of allowed tokens), how many, and the farthest end among the states they lead to.
     */
    record Mask(long[] bits, int count, int maxNextDistance) {
        boolean allows(int token) { return token >= 0 && (bits[token >>> 6] & (1L << token)) != 0; }
    }

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
        if (token < 0 || token >= vocab.size || !mask(state).allows(token)) return ByteDfa.DEAD;
        return follow(state, token);
    }

    /** The state after an allowed token's bytes (the transitions are cached: a few array reads). */
    synchronized int follow(int state, int token) {
        int s = state;
        for (byte b : vocab.bytes[token]) {
            s = dfa.step(s, b & 0xFF);
            if (s == ByteDfa.DEAD) break;
        }
        return s;
    }

    /** Every token whose bytes keep the output alive from {@code state}: one depth-first pass over the trie. */
    private Mask walk(int state) {
        long[] bits = new long[(vocab.size + 63) >>> 6];
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
                int tokens = vocab.tokenStart[c + 1] - vocab.tokenStart[c];
                if (tokens > 0) {
                    for (int k = vocab.tokenStart[c]; k < vocab.tokenStart[c + 1]; k++) {
                        int id = vocab.tokens[k];
                        bits[id >>> 6] |= 1L << id;
                    }
                    count += tokens;
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
        return new Mask(bits, count, maxDist);
    }
}
