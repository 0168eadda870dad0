package io.quire.engine.structured;

import io.quire.model.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A model's vocabulary as a byte trie: each token under the bytes it decodes to ({@link
 * Tokenizer#tokenBytes}: byte-fallback tokens as their byte, SentencePiece's word mark as a
 * space, byte-level BPE pieces as their bytes, partial UTF-8 included). Walking the trie along an
 * automaton finds every token a state allows in one pass over the prefixes that stay alive.
 * Control tokens (no bytes) are not in the trie; the end-of-generation ones are allowed apart.
 * Immutable once built; one per engine.
 */
public final class TokenVocabulary {
    final int size;
    final Set<Integer> endIds;
    /** Per node: its first child, its next sibling, the byte that leads to it. Node 0 is the root. */
    final int[] firstChild, nextSibling, label;
    /** Per node: its tokens, tokens[tokenStart[n], tokenStart[n + 1]). */
    final int[] tokenStart, tokens;
    /** Whether every byte is a token on its own (so any n bytes can be written in n tokens). */
    final boolean everyByte;
    /** Each token's bytes (empty for control tokens). */
    final byte[][] bytes;

    public TokenVocabulary(Tokenizer tokenizer) {
        this.size = tokenizer.vocabSize();
        this.endIds = Set.copyOf(tokenizer.endOfGenerationIds());
        Map<Long, Integer> child = new HashMap<>();
        int nodes = 1;
        int[] nodeOf = new int[size];
        int[] parentLabel = new int[1024], parent = new int[1024];
        boolean[] single = new boolean[256];
        this.bytes = new byte[size][];
        for (int id = 0; id < size; id++) {
            byte[] bytes = tokenizer.tokenBytes(id);
            this.bytes[id] = bytes;
            if (bytes.length == 0 || endIds.contains(id)) {
                nodeOf[id] = -1;
                continue;
            }
            if (bytes.length == 1) single[bytes[0] & 0xFF] = true;
            int node = 0;
            for (byte b : bytes) {
                long key = ((long) node << 8) | (b & 0xFF);
                Integer c = child.get(key);
                if (c == null) {
                    c = nodes++;
                    if (c == parent.length) {
                        parent = Arrays.copyOf(parent, 2 * c);
                        parentLabel = Arrays.copyOf(parentLabel, 2 * c);
                    }
                    parent[c] = node;
                    parentLabel[c] = b & 0xFF;
                    child.put(key, c);
                }
                node = c;
            }
            nodeOf[id] = node;
        }
        firstChild = new int[nodes];
        nextSibling = new int[nodes];
        label = new int[nodes];
        Arrays.fill(firstChild, -1);
        Arrays.fill(nextSibling, -1);
        for (int c = nodes - 1; c >= 1; c--) {
            int p = parent[c];
            label[c] = parentLabel[c];
            nextSibling[c] = firstChild[p];
            firstChild[p] = c;
        }
        tokenStart = new int[nodes + 1];
        for (int id = 0; id < size; id++) if (nodeOf[id] >= 0) tokenStart[nodeOf[id] + 1]++;
        for (int n = 0; n < nodes; n++) tokenStart[n + 1] += tokenStart[n];
        tokens = new int[tokenStart[nodes]];
        int[] fill = Arrays.copyOf(tokenStart, nodes);
        for (int id = 0; id < size; id++) if (nodeOf[id] >= 0) tokens[fill[nodeOf[id]]++] = id;
        boolean all = true;
        for (boolean s : single) all &= s;
        everyByte = all;
    }

    int numNodes() { return firstChild.length; }
}
