package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/**
 * {@code GET /kv/report}: where the KV cache's memory goes at the latest step boundary, for a
 * visualization to poll. {@code sequences} and {@code blocks} are left out with {@code ?detail=false};
 * {@code sliding_window} is there only for a model with one. A block id of -1 in a sequence's table
 * is a block the sliding window freed.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record KvReportResponse(String model, long step, String allocationPolicy, int blockSize, long bytesPerBlock,
        Totals totals,
                               List<Sequence> sequences, List<Block> blocks, SlidingWindow slidingWindow) {

    /**
     * What the sliding window frees (every layer slides) or would free (local and global layers
     * mixed: the bytes the local layers hold before their window, which one block table for all
     * layers keeps).
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record SlidingWindow(int window, int slidingLayers, int numLayers, long blocksFreed, long slotsOutOfWindow,
                                long bytesOutOfWindow) {}

    /** Counts (blocks, slots), bytes and fractions of the whole cache. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Totals(int blocksTotal, int blocksUsed, int blocksFree, int blocksShared, int blocksCached,
            long blocksReferenced,
                         int blocksUnattributed, long sharingSavedBlocks,
                         long slotsAllocated, long tokensStored, long slotsWasted, long slotsReserved,
                         long bytesTotal, long bytesUsed, long bytesTokensStored, long bytesWasted, long bytesReserved,
                         long sharingSavedBytes,
                         double usage, double utilization, double wastedFraction, double reservedFraction,
                         double sharingSavedFraction,
                         int swapBlocksTotal, int swapBlocksUsed, int sequencesSwapped) {}

    /** One sequence on the device: its request, the tokens it has in the cache, its block table in logical order. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Sequence(String sequenceId, String requestId, int numTokens, int[] blockIds) {}

    /**
     * One block in use: the requests whose sequences hold it, its reference count, tokens used and fill (tokens / block
     * size).
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Block(int blockId, int refCount, int tokens, double fill, List<String> owners) {}
}
