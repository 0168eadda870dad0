package io.quire.kv;

import java.util.List;

/**
 * The longest cached prefix of a sequence: its full blocks, found by hash and verified by content
 * (vLLM v1's computed blocks). Taking it into a block table is done by
 * {@link KvCacheManager#allocateSlots(String, int, int, PrefixHit)}. With a sliding window a hit's
 * blocks before the window of its first new token are null: nothing will read them.
 */
public record PrefixHit(List<KvCacheBlock> blocks, List<BlockHash> hashes) {
    public static final PrefixHit NONE = new PrefixHit(List.of(), List.of());

    public PrefixHit {
        blocks = java.util.Collections.unmodifiableList(new java.util.ArrayList<>(blocks));
        hashes = List.copyOf(hashes);
    }

    public int numBlocks() { return blocks.size(); }

    public boolean isEmpty() { return blocks.isEmpty(); }

    /** Blocks the hit actually holds (not the null ones before a sliding window). */
    public List<KvCacheBlock> heldBlocks() { return blocks.stream().filter(java.util.Objects::nonNull).toList(); }
}
