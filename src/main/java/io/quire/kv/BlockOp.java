package io.quire.kv;

/**
 * A data movement the KV cache must perform before the step's forward pass (vLLM V0's
 * blocks_to_copy / blocks_to_swap_out / blocks_to_swap_in), in the order the block manager
 * decided them: a copy-on-write of a shared block, or a block moved to or from the host swap pool.
 *
 * @param src a device block (COPY, SWAP_OUT) or a swap block (SWAP_IN)
 * @param dst a device block (COPY, SWAP_IN) or a swap block (SWAP_OUT)
 */
public record BlockOp(Kind kind, int src, int dst) {
    public enum Kind { COPY, SWAP_OUT, SWAP_IN }
}
