package io.quire.kv;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.List;

/**
 * Where the KV cache's memory goes at one step boundary: how many slots hold token states, how
 * many are wasted at the end of partly filled blocks (internal fragmentation), how many are
 * reserved ahead of tokens that are not there yet (the Orca policies), and how much memory
 * sharing saves. An immutable snapshot: built on the engine thread, read from any thread.
 *
 * <p>Counts are in slots (one token's K and V in every layer) and blocks; the byte views multiply
 * by {@link #bytesPerBlock}. A block shared by several sequences counts once in the physical
 * figures ({@link #tokensStored}, {@link #slotsWasted}), and once per sequence in
 * {@link #blocksReferenced}; the difference is what sharing saves.
 *
 * @param step              engine steps run when the snapshot was taken
 * @param blockSize         tokens per block
 * @param bytesPerBlock     bytes of one block (all layers, K and V)
 * @param numTotalBlocks    blocks in the pool
 * @param blocksUsed        blocks with a reference (taken from the free queue)
 * @param tokensStored      slots holding a token's KV, each physical slot once
 * @param slotsWasted       unused slots in partly filled blocks
 * @param slotsReserved     slots of blocks that hold no token yet (reserved ahead)
 * @param blocksShared      blocks referenced more than once (reference count above 1)
 * @param blocksReferenced  the sum over sequences of the blocks in their block tables
 * @param blocksUnattributed blocks in use that no sequence's table holds (0 unless a leak or a
 *                          holder outside the tables)
 * @param blocksCached      blocks findable by prefix hash, in use or free (free ones are evicted
 *                          only when the pool needs them)
 * @param swapBlocksTotal   blocks of the host-side swap pool (0 without swap space)
 * @param swapBlocksUsed    swap blocks holding swapped-out sequences' KV
 * @param sequencesSwapped  sequences whose blocks are in the swap pool
 * @param sequences         each sequence's device block table, in sequence id order
 * @param blocks            each device block in use, by block id
 * @param hashedBlocks      the device blocks that carry a prefix hash, in use or free (a free one is
 *                          a cached block a later request can take back); empty in a report built
 *                          without the pool
 * @param window            what the model's sliding window frees or would free; null without one
 */
public record KvMemoryReport(
        long step,
        int blockSize,
        long bytesPerBlock,
        int numTotalBlocks,
        int blocksUsed,
        long tokensStored,
        long slotsWasted,
        long slotsReserved,
        int blocksShared,
        long blocksReferenced,
        int blocksUnattributed,
        int blocksCached,
        int swapBlocksTotal,
        int swapBlocksUsed,
        int sequencesSwapped,
        List<SequenceInfo> sequences,
        List<BlockInfo> blocks,
        BitSet hashedBlocks,
        SlidingWindowReport window) {

    public KvMemoryReport {
        hashedBlocks = (BitSet) hashedBlocks.clone();
    }

    /** A copy: the report stays immutable. */
    @Override
    public BitSet hashedBlocks() { return (BitSet) hashedBlocks.clone(); }

    /** Whether device block {@code blockId} carries a prefix hash (in use, or free and cached). */
    public boolean isHashed(int blockId) { return hashedBlocks.get(blockId); }

    /**
     * One sequence's view: its id, its owner (the request id; a request with n > 1 or beams has
     * several sequences), the tokens whose KV it has in the cache, and its physical block ids in
     * logical order.
     */
    public record SequenceInfo(String sequenceId, String owner, int numTokens, int[] blockIds) {}

    /**
     * One physical block in use: the requests whose tables hold it, its reference count and how
     * many of its {@code blockSize} slots hold tokens.
     */
    public record BlockInfo(int blockId, int refCount, int tokens, List<String> owners) {
        public double fill(int blockSize) { return (double) tokens / blockSize; }
    }

    /** What a sequence holds, as input to {@link #build}: tokens stored, blocks in logical order. */
    public record SequenceBlocks(String sequenceId, String owner, int numTokens, List<KvCacheBlock> blocks) {}

    public int blocksFree() { return numTotalBlocks - blocksUsed; }

    public long slotsAllocated() { return (long) blocksUsed * blockSize; }

    /** Blocks that would be in use if nothing were shared, minus those that are. */
    public long sharingSavedBlocks() { return blocksReferenced - (blocksUsed - blocksUnattributed); }

    public long bytesPerSlot() { return bytesPerBlock / blockSize; }

    public long usedBytes() { return blocksUsed * bytesPerBlock; }

    public long totalBytes() { return numTotalBlocks * bytesPerBlock; }

    public long tokensStoredBytes() { return tokensStored * bytesPerSlot(); }

    public long wastedBytes() { return slotsWasted * bytesPerSlot(); }

    public long reservedBytes() { return slotsReserved * bytesPerSlot(); }

    public long sharingSavedBytes() { return sharingSavedBlocks() * bytesPerBlock; }

    /** Fraction of the pool's blocks in use. */
    public double usage() { return (double) blocksUsed / numTotalBlocks; }

    /** Fraction of the allocated slots that hold token states (the paper's "96% vs 20-38%"); 1 when none are. */
    public double utilization() { return slotsAllocated() == 0 ? 1.0 : (double) tokensStored / slotsAllocated(); }

    public double wastedFraction() { return slotsAllocated() == 0 ? 0.0 : (double) slotsWasted / slotsAllocated(); }

    public double reservedFraction() { return slotsAllocated() == 0 ? 0.0 : (double) slotsReserved / slotsAllocated(); }

    /** Fraction of the memory the sequences reference that sharing saves. */
    public double sharingSavedFraction() {
        return blocksReferenced == 0 ? 0.0 : (double) sharingSavedBlocks() / blocksReferenced;
    }

    /**
     * Builds the report from the sequences' block tables. A block's fill is what its fullest
     * owner puts in it (sharers of a block agree on its contents; a copy-on-write fork writes
     * into its own copy). A sequence's first {@code numTokens} slots are filled; blocks past
     * them hold nothing yet.
     *
     * @param numTotalBlocks blocks in the pool
     * @param numFreeBlocks  blocks in the pool's free queue
     */
    public static KvMemoryReport build(long step, int blockSize, long bytesPerBlock, int numTotalBlocks,
                                       int numFreeBlocks, Collection<SequenceBlocks> sequences) {
        // Indexed by block id (no per-entry boxing: this may run at every step boundary).
        int[] fill = new int[numTotalBlocks];
        int[] ref = new int[numTotalBlocks];
        boolean[] seen = new boolean[numTotalBlocks];
        @SuppressWarnings("unchecked")
        List<String>[] owners = new List[numTotalBlocks];
        List<SequenceInfo> seqInfos = new ArrayList<>(sequences.size());
        long referenced = 0;
        int distinct = 0;
        for (SequenceBlocks s : sequences) {
            int[] ids = new int[s.blocks().size()];
            for (int i = 0; i < ids.length; i++) {
                KvCacheBlock b = s.blocks().get(i);
                if (b == null) {  // freed by a sliding window: no memory held
                    ids[i] = -1;
                    continue;
                }
                int id = b.blockId();
                referenced++;
                ids[i] = id;
                int tokens = (int) Math.max(0, Math.min(blockSize, (long) s.numTokens() - (long) i * blockSize));
                if (!seen[id]) {
                    seen[id] = true;
                    distinct++;
                    ref[id] = b.refCount();
                    owners[id] = new ArrayList<>(1);
                }
                fill[id] = Math.max(fill[id], tokens);
                if (!owners[id].contains(s.owner())) owners[id].add(s.owner());
            }
            seqInfos.add(new SequenceInfo(s.sequenceId(), s.owner(), s.numTokens(), ids));
        }
        long stored = 0, wasted = 0, reserved = 0;
        int shared = 0;
        List<BlockInfo> blocks = new ArrayList<>(distinct);
        for (int id = 0; id < numTotalBlocks; id++) {
            if (!seen[id]) continue;
            stored += fill[id];
            if (fill[id] == 0) reserved += blockSize;
            else wasted += blockSize - fill[id];
            if (ref[id] > 1) shared++;
            blocks.add(new BlockInfo(id, ref[id], fill[id], List.copyOf(owners[id])));
        }
        seqInfos.sort((a, b) -> a.sequenceId().compareTo(b.sequenceId()));
        int used = numTotalBlocks - numFreeBlocks;
        return new KvMemoryReport(step, blockSize, bytesPerBlock, numTotalBlocks, used, stored, wasted, reserved,
                shared, referenced, Math.max(0, used - distinct), 0, 0, 0, 0, List.copyOf(seqInfos),
                List.copyOf(blocks), new BitSet(), null);
    }

    /** The same report with the prefix cache's and the swap pool's figures. */
    public KvMemoryReport withCacheAndSwap(int blocksCached, BitSet hashedBlocks, int swapBlocksTotal,
                                           int swapBlocksUsed, int sequencesSwapped) {
        return new KvMemoryReport(step, blockSize, bytesPerBlock, numTotalBlocks, blocksUsed, tokensStored, slotsWasted,
                slotsReserved, blocksShared, blocksReferenced, blocksUnattributed, blocksCached, swapBlocksTotal,
                swapBlocksUsed, sequencesSwapped, sequences, blocks, hashedBlocks, window);
    }

    /** The same report with the sliding window's figures. */
    public KvMemoryReport withWindow(SlidingWindowReport w) {
        return new KvMemoryReport(step, blockSize, bytesPerBlock, numTotalBlocks, blocksUsed, tokensStored, slotsWasted,
                slotsReserved, blocksShared, blocksReferenced, blocksUnattributed, blocksCached, swapBlocksTotal,
                swapBlocksUsed, sequencesSwapped, sequences, blocks, hashedBlocks, w);
    }
}
