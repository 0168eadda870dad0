package io.quire.kv;

/**
 * How much KV memory a request gets at admission, for the PagedAttention paper's memory
 * comparison (section 6.2, figure 2). {@link #PAGED} is vLLM: blocks are allocated as tokens
 * arrive. The {@code ORCA_*} policies model systems that reserve a request's space up front and
 * hold it for the request's lifetime: the reservation is taken whole at admission (a request that
 * cannot get it waits) and never grows, so these policies never preempt. "Contiguous" in the paper
 * is what matters through the reservation: the reserved blocks may still be physically scattered.
 * Reservations are rounded up to whole blocks.
 */
public enum KvAllocationPolicy {
    /** On demand, block by block (the default; the only policy that shares or preempts). */
    PAGED,
    /** The maximum model length for every request (Orca (Max)). */
    ORCA_MAX,
    /** The next power of two of the request's final length, at most the maximum model length (Orca (Pow2)). */
    ORCA_POW2,
    /**
     * Exactly the request's final length, prompt plus {@code max_tokens} (Orca (Oracle)). It is the
     * true final length when the output cannot stop early (ignore_eos, no stop strings or tokens), as
     * in the benchmark; otherwise it is the longest the request can get.
     */
    ORCA_ORACLE;

    /**
     * Tokens to reserve for a request at admission; 0 for {@link #PAGED} (nothing reserved ahead).
     *
     * @param numPromptTokens prompt length
     * @param maxTokens       the request's resolved output limit
     * @param maxModelLen     the engine's maximum model length (prompt plus output)
     */
    public int reservedTokens(int numPromptTokens, int maxTokens, int maxModelLen) {
        int finalLen = (int) Math.min((long) numPromptTokens + maxTokens, maxModelLen);
        return switch (this) {
            case PAGED -> 0;
            case ORCA_MAX -> maxModelLen;
            case ORCA_POW2 -> (int) Math.min(nextPowerOfTwo(finalLen), maxModelLen);
            case ORCA_ORACLE -> finalLen;
        };
    }

    /** Whether memory is reserved up front (every policy but {@link #PAGED}). */
    public boolean reservesAhead() { return this != PAGED; }

    static long nextPowerOfTwo(int n) {
        if (n <= 1) return 1;
        return Long.highestOneBit((long) n - 1) << 1;
    }
}
