package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/**
 * One event of {@code GET /kv/stream}: the whole KV block pool at one engine step boundary, compact
 * enough to send ten times a second for tens of thousands of blocks.
 *
 * @param map    every block's state in block id order, run-length encoded: a state letter and how
 *               many blocks in a row have it ({@code u3f2040c5}): {@code f} free, {@code c} cached
 *               (free, but keeping its prefix hash for a later hit), {@code u} in use
 * @param blocks the blocks in use, with their reference counts, fill and owners
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record KvSnapshot(String model, long step, int blockSize, int running, int waiting, long preemptions,
                         KvReportResponse.Totals totals, String map, List<Block> blocks) {

    /** A block in use: its id, reference count, tokens it holds, whether it carries a prefix hash, its requests. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Block(int id, int ref, int tokens, boolean hashed, List<String> owners) {}
}
