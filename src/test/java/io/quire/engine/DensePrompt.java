package io.quire.engine;

import io.quire.model.ForwardBatch;

/** One prompt as a single sequence's flat batch in blocks 0, 1, ... of 16 tokens: the reference runs' layout. */
final class DensePrompt {
    private DensePrompt() {}

    /** {@code tokens} at positions 0.., each in the slot of its position. */
    static ForwardBatch batch(int[] tokens) {
        int n = tokens.length;
        int[] positions = new int[n];
        for (int i = 0; i < n; i++) positions[i] = i;
        int[] table = new int[(n + 15) / 16];
        for (int b = 0; b < table.length; b++) table[b] = b;
        return new ForwardBatch(tokens, positions, positions.clone(), new int[] {0, n}, new int[][] {table});
    }
}
