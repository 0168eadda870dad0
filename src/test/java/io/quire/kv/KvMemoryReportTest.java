package io.quire.kv;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/** The memory report's arithmetic on known block tables. */
class KvMemoryReportTest {
    private static final long BYTES_PER_BLOCK = 16 * 1024;

    @Test
    void countsBlocksTokensAndInternalFragmentation() {
        KvCacheManager kv = new KvCacheManager(10, 16);
        Map<String, Integer> lengths = Map.of("a", 5, "b", 16, "c", 17);
        lengths.forEach((id, len) -> assertThat(kv.allocateSlots(id, 0, len)).isTrue());
        KvMemoryReport r = kv.report(7, BYTES_PER_BLOCK, lengths::get);

        assertThat(r.step()).isEqualTo(7);
        assertThat(r.blocksUsed()).isEqualTo(1 + 1 + 2);
        assertThat(r.blocksFree()).isEqualTo(6);
        assertThat(r.tokensStored()).isEqualTo(38);
        assertThat(r.slotsWasted()).isEqualTo(11 + 0 + 15);
        assertThat(r.slotsReserved()).isZero();
        assertThat(r.slotsAllocated()).isEqualTo(64);
        assertThat(r.blocksShared()).isZero();
        assertThat(r.blocksReferenced()).isEqualTo(4);
        assertThat(r.sharingSavedBlocks()).isZero();
        assertThat(r.blocksUnattributed()).isZero();
        assertThat(r.utilization()).isEqualTo(38.0 / 64);
        assertThat(r.wastedFraction()).isEqualTo(26.0 / 64);
        assertThat(r.usage()).isEqualTo(0.4);
        assertThat(r.bytesPerSlot()).isEqualTo(1024);
        assertThat(r.usedBytes()).isEqualTo(4 * BYTES_PER_BLOCK);
        assertThat(r.tokensStoredBytes()).isEqualTo(38 * 1024);
        assertThat(r.wastedBytes()).isEqualTo(26 * 1024);

        assertThat(r.sequences()).extracting(KvMemoryReport.SequenceInfo::owner).containsExactly("a", "b", "c");
        assertThat(r.sequences()).extracting(KvMemoryReport.SequenceInfo::numTokens).containsExactly(5, 16, 17);
        int[] cBlocks = r.sequences().get(2).blockIds();
        assertThat(cBlocks).containsExactly(kv.blockTable("c"));
        assertThat(r.blocks()).hasSize(4);
        assertThat(r.blocks()).allSatisfy(b -> assertThat(b.refCount()).isEqualTo(1));
        KvMemoryReport.BlockInfo cLast = r.blocks().stream().filter(b -> b.blockId() == cBlocks[1]).findFirst()
                .orElseThrow();
        assertThat(cLast.tokens()).isEqualTo(1);
        assertThat(cLast.fill(16)).isEqualTo(1.0 / 16);
        assertThat(cLast.owners()).containsExactly("c");
        int aBlock = kv.blockTable("a")[0];
        assertThat(r.blocks().stream().filter(b -> b.blockId() == aBlock).findFirst().orElseThrow().tokens())
                .isEqualTo(5);
        // Block ids in order.
        assertThat(r.blocks()).extracting(KvMemoryReport.BlockInfo::blockId).isSorted();

        for (String id : lengths.keySet()) kv.free(id);
        KvMemoryReport empty = kv.report(8, BYTES_PER_BLOCK, id -> 0);
        assertThat(empty.blocksUsed()).isZero();
        assertThat(empty.blocks()).isEmpty();
        assertThat(empty.utilization()).isEqualTo(1.0);
    }

    @Test
    void blocksAheadOfTheTokensAreReservedNotWasted() {
        KvCacheManager kv = new KvCacheManager(10, 16);
        assertThat(kv.allocateSlots("r", 0, 64)).isTrue(); // a reservation of 4 blocks
        KvMemoryReport r = kv.report(1, BYTES_PER_BLOCK, id -> 5);
        assertThat(r.blocksUsed()).isEqualTo(4);
        assertThat(r.tokensStored()).isEqualTo(5);
        assertThat(r.slotsWasted()).isEqualTo(11);
        assertThat(r.slotsReserved()).isEqualTo(48);
        assertThat(r.reservedBytes()).isEqualTo(48 * 1024);
        assertThat(r.reservedFraction()).isEqualTo(48.0 / 64);
        assertThat(r.utilization()).isEqualTo(5.0 / 64);
    }

    @Test
    void sharedBlocksCountOnceAndTheSavingIsTheDifference() {
        BlockPool pool = new BlockPool(8);
        List<KvCacheBlock> a = pool.allocate(2);           // a: 20 tokens in [p, a1]
        KvCacheBlock prefix = a.getFirst();
        pool.share(prefix);                                 // b references the full prefix block too
        pool.share(prefix);                                 // and c
        List<KvCacheBlock> b = List.of(prefix, pool.allocate(1).getFirst()); // b: 18 tokens
        List<KvCacheBlock> c = List.of(prefix);             // c: 16 tokens, all shared
        KvMemoryReport r = KvMemoryReport.build(3, 16, BYTES_PER_BLOCK, pool.numTotalBlocks(), pool.numFreeBlocks(),
                List.of(new KvMemoryReport.SequenceBlocks("a", "a", 20, a),
                new KvMemoryReport.SequenceBlocks("b", "b", 18, b),
                new KvMemoryReport.SequenceBlocks("c", "c", 16, c)));

        assertThat(r.blocksUsed()).isEqualTo(3);
        assertThat(r.blocksReferenced()).isEqualTo(2 + 2 + 1);
        assertThat(r.blocksShared()).isEqualTo(1);
        assertThat(r.sharingSavedBlocks()).isEqualTo(2);
        assertThat(r.sharingSavedBytes()).isEqualTo(2 * BYTES_PER_BLOCK);
        assertThat(r.sharingSavedFraction()).isEqualTo(2.0 / 5);
        assertThat(r.tokensStored()).isEqualTo(16 + 4 + 2);
        assertThat(r.slotsWasted()).isEqualTo(12 + 14);
        KvMemoryReport.BlockInfo p = r.blocks().stream().filter(x -> x.blockId() == prefix.blockId()).findFirst()
                .orElseThrow();
        assertThat(p.refCount()).isEqualTo(3);
        assertThat(p.owners()).containsExactly("a", "b", "c");
        assertThat(p.tokens()).isEqualTo(16);
    }

    @Test
    void blocksHeldOutsideTheTablesShowAsUnattributed() {
        BlockPool pool = new BlockPool(4);
        List<KvCacheBlock> a = pool.allocate(1);
        pool.allocate(1); // held by no table
        KvMemoryReport r = KvMemoryReport.build(0, 16, BYTES_PER_BLOCK, pool.numTotalBlocks(), pool.numFreeBlocks(),
                List.of(new KvMemoryReport.SequenceBlocks("a", "a", 3, a)));
        assertThat(r.blocksUsed()).isEqualTo(2);
        assertThat(r.blocksUnattributed()).isEqualTo(1);
        assertThat(r.sharingSavedBlocks()).isZero();
    }

    @Test
    void aForkSharesItsParentsBlocksUntilItWrites() {
        // n = 2 on a 20-token prompt: the child references both of the parent's blocks.
        KvCacheManager kv = new KvCacheManager(10, 16, false, 0);
        assertThat(kv.allocateSlots("req/0", 0, 20)).isTrue();
        kv.fork("req/0", "req/1");
        UnaryOperator<String> owner = id -> id.substring(0, id.indexOf('/'));
        KvMemoryReport r = kv.report(1, BYTES_PER_BLOCK, id -> 20, owner);
        assertThat(r.blocksUsed()).isEqualTo(2);
        assertThat(r.blocksReferenced()).isEqualTo(4);
        assertThat(r.blocksShared()).isEqualTo(2);
        assertThat(r.sharingSavedBlocks()).isEqualTo(2);
        assertThat(r.sharingSavedBytes()).isEqualTo(2 * BYTES_PER_BLOCK);
        assertThat(r.tokensStored()).isEqualTo(20);
        assertThat(r.slotsWasted()).isEqualTo(12);
        assertThat(r.blocks()).allSatisfy(b -> {
            assertThat(b.refCount()).isEqualTo(2);
            assertThat(b.owners()).containsExactly("req");
        });
        assertThat(r.sequences()).extracting(KvMemoryReport.SequenceInfo::sequenceId).containsExactly("req/0", "req/1");
        assertThat(r.sequences()).extracting(KvMemoryReport.SequenceInfo::owner).containsExactly("req", "req");

        // Each writes its 21st token: the shared last block is copied for the first writer only.
        assertThat(kv.allocateSlots("req/0", 20, 1)).isTrue();
        assertThat(kv.allocateSlots("req/1", 20, 1)).isTrue();
        r = kv.report(2, BYTES_PER_BLOCK, id -> 21, owner);
        assertThat(r.blocksUsed()).isEqualTo(3);
        assertThat(r.blocksShared()).isEqualTo(1);
        assertThat(r.sharingSavedBlocks()).isEqualTo(1);
        assertThat(r.tokensStored()).isEqualTo(16 + 5 + 5);
        kv.free("req/0");
        kv.free("req/1");
        assertThat(kv.report(3, BYTES_PER_BLOCK, id -> 0).blocksUsed()).isZero();
        assertThat(kv.numFreeBlocks()).isEqualTo(10);
    }
}
