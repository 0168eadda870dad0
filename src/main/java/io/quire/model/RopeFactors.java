package io.quire.model;

/**
 * Per-pair RoPE frequency divisors: one set for every position (Llama 3's {@code rope_freqs}), or
 * Phi-3's long-RoPE pair, where positions below {@code longFrom} (the trained context) rotate with
 * the short factors and later ones with the long factors. That is what transformers and vLLM compute
 * for any sequence that fits the trained context; llama.cpp instead picks one set for the whole
 * served context, so on a model served beyond its trained context it uses the long factors even for
 * short prompts. Beyond the trained context transformers re-rotates its whole prefill with the long
 * factors, which a paged cache cannot do without recomputing it; here the earlier keys keep theirs.
 *
 * @param factors     the factors of positions below {@code longFrom}
 * @param longFactors the factors from {@code longFrom} on, null when one set serves every position
 */
record RopeFactors(float[] factors, float[] longFactors, int longFrom) {
    /** One set for every position; null stays null (no factors). */
    static RopeFactors of(float[] factors) {
        return factors == null ? null : new RopeFactors(factors, null, Integer.MAX_VALUE);
    }
}
