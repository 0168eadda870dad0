package io.quire.engine.structured;

import java.util.Arrays;

/**
 * Where one sequence stands in its constraint: a state of the shared {@link TokenConstraint},
 * advanced by every token appended to the sequence. It holds nothing but the state, so it
 * survives preemption (swap or recompute keep the output tokens, and with them the state) and a
 * fork (beam search, parallel samples) copies it.
 */
public final class ConstraintState {
    private final TokenConstraint constraint;
    private int state;

    public ConstraintState(TokenConstraint constraint) {
        this.constraint = constraint;
        this.state = constraint.start();
    }

    private ConstraintState(ConstraintState other) {
        this.constraint = other.constraint;
        this.state = other.state;
    }

    public ConstraintState copy() { return new ConstraintState(this); }

    /** Follows the appended token; a token the state did not allow makes it dead (that is a bug upstream). */
    public void advance(int token) {
        if (state == ByteDfa.DEAD) return;
        state = constraint.next(state, token);
    }

    /** Whether the output so far is a complete string of the language. */
    public boolean accepting() { return state != ByteDfa.DEAD && constraint.accepting(state); }

    /**
     * Writes into {@code out} the logits of the tokens allowed next and -infinity elsewhere. End
     * of generation is allowed only where the language may end. With {@code remaining} tokens left
     * (this one included), a token is allowed only if the output can still be completed within
     * the rest, so a sequence that runs to its {@code max_tokens} still ends complete (exact when
     * every byte is a token of its own, as with byte fallback or byte-level BPE).
     *
     * @throws IllegalStateException when the vocabulary cannot continue the output at all
     */
    public float[] mask(float[] logits, float[] out, int remaining) {
        if (state == ByteDfa.DEAD) throw new IllegalStateException("the output left its constraint");
        TokenConstraint.Mask m = constraint.mask(state);
        boolean accepting = constraint.accepting(state);
        Arrays.fill(out, Float.NEGATIVE_INFINITY);
        int allowed = 0;
        if (accepting) {
            for (int id : constraint.vocabulary().endIds) {
                if (id >= 0 && id < out.length) {
                    out[id] = logits[id];
                    allowed++;
                }
            }
        }
        int budget = remaining - 1;
        int tokens = copyAllowed(m, logits, out, budget < m.maxNextDistance() ? budget : Integer.MAX_VALUE);
        // Too few tokens left to finish whatever is chosen: the output will be cut by length anyway.
        if (allowed + tokens == 0) tokens = copyAllowed(m, logits, out, Integer.MAX_VALUE);
        allowed += tokens;
        if (allowed == 0) {
            throw new IllegalStateException("the model's vocabulary has no token that continues the constrained output");
        }
        return out;
    }

    /**
     * Copies the logits of the mask's tokens; with a {@code budget}, only of those that leave at most
     * that many bytes to the end (found by following each one: only in the last steps before the limit).
     */
    private int copyAllowed(TokenConstraint.Mask m, float[] logits, float[] out, int budget) {
        int allowed = 0;
        long[] bits = m.bits();
        for (int w = 0; w < bits.length; w++) {
            long word = bits[w];
            if (word == -1L && budget == Integer.MAX_VALUE) { // 64 allowed tokens in a row (inside strings, most)
                System.arraycopy(logits, w << 6, out, w << 6, 64);
                allowed += 64;
                continue;
            }
            while (word != 0) {
                int id = (w << 6) + Long.numberOfTrailingZeros(word);
                word &= word - 1;
                if (budget != Integer.MAX_VALUE && constraint.distance(constraint.follow(state, id)) > budget) continue;
                out[id] = logits[id];
                allowed++;
            }
        }
        return allowed;
    }
}
