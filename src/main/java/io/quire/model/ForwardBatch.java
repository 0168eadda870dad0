package io.quire.model;

import java.util.Arrays;

/**
 * One step's input for the model runner, flattened as in vLLM v1: the new tokens of every
 * scheduled sequence back to back (a whole prompt, a chunk of one, or a single decode token),
 * each with its absolute position and the KV-cache slot its K/V go to, plus each sequence's
 * block table. Token {@code t} of sequence {@code s} attends to positions {@code 0..positions[t]}
 * of that sequence, read through {@code blockTables[s]}.
 *
 * @param tokens      new token ids, {@code numTokens}
 * @param positions   absolute position of each new token, {@code numTokens}
 * @param slotMapping KV slot of each new token: {@code block * blockSize + offsetInBlock}
 * @param queryStart  {@code numSeqs + 1} offsets: sequence {@code s} owns tokens
 *                    {@code queryStart[s]..queryStart[s+1]-1}
 * @param blockTables physical block ids of each sequence, in logical order
 * @param everyTokenLogits per sequence, whether the logits of each of its new tokens are wanted and not
 *                    only its last one's (prompt logprobs); null: none's
 * @param adapters    per sequence, the LoRA adapter it runs with: 0 for none, {@code k} for the model's
 *                    k-th ({@link LanguageModel#useAdapters}); null: none for all
 */
public record ForwardBatch(int[] tokens, int[] positions, int[] slotMapping, int[] queryStart, int[][] blockTables,
                           boolean[] everyTokenLogits, int[] adapters) {

    public ForwardBatch {
        if (positions.length != tokens.length || slotMapping.length != tokens.length) {
            throw new IllegalArgumentException("tokens, positions and slotMapping must have the same length");
        }
        if (queryStart.length != blockTables.length + 1 || queryStart[0] != 0
                || queryStart[blockTables.length] != tokens.length) {
            throw new IllegalArgumentException("queryStart must have numSeqs+1 entries from 0 to numTokens: "
                    + Arrays.toString(queryStart));
        }
        if (everyTokenLogits != null && everyTokenLogits.length != blockTables.length) {
            throw new IllegalArgumentException("everyTokenLogits must have one entry per sequence");
        }
        if (adapters != null && adapters.length != blockTables.length) {
            throw new IllegalArgumentException("adapters must have one entry per sequence");
        }
    }

    /** A step with no LoRA adapters. */
    public ForwardBatch(int[] tokens, int[] positions, int[] slotMapping, int[] queryStart, int[][] blockTables,
                        boolean[] everyTokenLogits) {
        this(tokens, positions, slotMapping, queryStart, blockTables, everyTokenLogits, null);
    }

    /** A step that wants only each sequence's last logits. */
    public ForwardBatch(int[] tokens, int[] positions, int[] slotMapping, int[] queryStart, int[][] blockTables) {
        this(tokens, positions, slotMapping, queryStart, blockTables, null);
    }

    /** Whether sequence {@code seq} wants the logits of every new token (see {@link LanguageModel.TokenLogits}). */
    public boolean wantsEveryTokenLogits(int seq) {
        return everyTokenLogits != null && everyTokenLogits[seq];
    }

    public int numTokens() { return tokens.length; }

    public int numSeqs() { return blockTables.length; }

    /** The sequence index of each token. */
    public int[] tokenSequence() {
        int[] seq = new int[tokens.length];
        for (int s = 0; s < numSeqs(); s++) Arrays.fill(seq, queryStart[s], queryStart[s + 1], s);
        return seq;
    }

    /**
     * Tokens {@code from..from+count-1} as a batch of their own, with every block table kept (so the
     * sequence indices stay), each sequence owning what of its tokens falls in the range.
     */
    public ForwardBatch part(int from, int count) {
        if (from < 0 || count < 0 || from + count > tokens.length) {
            throw new IllegalArgumentException("part " + from + "+" + count + " outside " + tokens.length + " tokens");
        }
        int[] starts = new int[queryStart.length];
        for (int s = 0; s < starts.length; s++) starts[s] = Math.clamp(queryStart[s] - from, 0, count);
        return new ForwardBatch(Arrays.copyOfRange(tokens, from, from + count),
                Arrays.copyOfRange(positions, from, from + count), Arrays.copyOfRange(slotMapping, from, from + count),
                starts, blockTables, everyTokenLogits, adapters);
    }

    /** Whether some sequence runs with a LoRA adapter. */
    public boolean hasAdapters() {
        if (adapters == null) return false;
        for (int a : adapters) if (a != 0) return true;
        return false;
    }

    /** Index of the last new token of each sequence, whose logits the model returns. */
    public int lastTokenIndex(int seq) { return queryStart[seq + 1] - 1; }
}
