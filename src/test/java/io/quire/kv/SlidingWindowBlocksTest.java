package io.quire.kv;

import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The block manager with a sliding window (vLLM's sliding-window manager): where every layer
 * slides, blocks wholly before a sequence's window go back to the pool as it advances; the prefix
 * cache stays correct (a hit needs only the blocks inside the window of its first new token, and a
 * block the pool reused is never part of one); where local and global layers mix, nothing is freed
 * and the report shows what the local layers hold beyond their window.
 */
class SlidingWindowBlocksTest {
    private static final int BS = 4;
    private static final int W = 8;

    private static int[] tokens(int n, int salt) {
        return IntStream.range(0, n).map(i -> 10 + (i * 7 + salt) % 50).toArray();
    }

    /** Runs a sequence's prompt in one step then {@code decode} tokens one by one, caching its full blocks. */
    private static void run(KvCacheManager kv, String id, int[] t, int prompt, int decode) {
        assertThat(kv.allocateSlots(id, 0, prompt)).isTrue();
        kv.cacheFullBlocks(id, i -> t[i], prompt, null);
        for (int n = prompt; n < prompt + decode; n++) {
            assertThat(kv.allocateSlots(id, n, 1)).isTrue();
            kv.cacheFullBlocks(id, i -> t[i], n + 1, null);
        }
    }

    @Test
    void blocksBeforeTheWindowGoBackToThePool() {
        KvCacheManager kv = new KvCacheManager(32, BS, false, 0, new SlidingWindow(W, 2, 2));
        int[] t = tokens(64, 0);
        run(kv, "a", t, 20, 0);
        assertThat(kv.numBlocks("a")).isEqualTo(5);
        assertThat(kv.numFreeBlocks()).isEqualTo(27);
        // The token at position 20 reads positions 13..20: blocks 0-2 (positions 0..11) are out of every window.
        run2(kv, "a", 20, 1);
        assertThat(kv.blockTable("a")).startsWith(-1, -1, -1).doesNotContain(-2);
        assertThat(kv.blockTable("a")[3]).isNotNegative();
        assertThat(kv.numFreeBlocks()).isEqualTo(32 - 3);
        assertThat(kv.numWindowFreedBlocks()).isEqualTo(3);
        // A long decode holds at most the window's blocks plus the one being written.
        for (int n = 21; n < 60; n++) {
            run2(kv, "a", n, 1);
            long held = IntStream.of(kv.blockTable("a")).filter(b -> b >= 0).count();
            assertThat(held).isLessThanOrEqualTo(W / BS + 1);
        }
        int[] slots = new int[1];
        kv.slotMapping("a", 59, 1, slots, 0);
        assertThat(slots[0] / BS).isEqualTo(kv.blockTable("a")[59 / BS]);
        kv.free("a");
        assertThat(kv.numFreeBlocks()).isEqualTo(32);
    }

    private static void run2(KvCacheManager kv, String id, int computed, int n) {
        assertThat(kv.allocateSlots(id, computed, n)).isTrue();
    }

    @Test
    void mixedLocalAndGlobalLayersFreeNothingAndReportWhatTheWindowWouldSave() {
        KvCacheManager kv = new KvCacheManager(32, BS, false, 0, new SlidingWindow(W, 3, 4));
        run(kv, "a", tokens(64, 0), 20, 10);
        assertThat(kv.blockTable("a")).doesNotContain(-1).hasSize(8);
        assertThat(kv.numWindowFreedBlocks()).isZero();
        long bytesPerBlock = 4096;
        KvMemoryReport r = kv.report(1, bytesPerBlock, id -> 30);
        SlidingWindowReport w = r.window();
        assertThat(w.window()).isEqualTo(W);
        assertThat(w.slotsOutOfWindow()).isEqualTo(30 - W);
        // 22 slots of 4096/4 bytes each, in 3 of the 4 layers.
        assertThat(w.bytesOutOfWindow()).isEqualTo(22L * 1024 * 3 / 4);
        assertThat(new KvCacheManager(8, BS).report(1, bytesPerBlock, id -> 0).window()).isNull();
    }

    @Test
    void aPrefixHitNeedsOnlyTheBlocksInsideItsWindow() {
        KvCacheManager kv = new KvCacheManager(12, BS, true, 0, new SlidingWindow(W, 1, 1));
        int[] t = tokens(24, 0);
        run(kv, "a", t, 24, 0);
        run2(kv, "a", 24, 1); // frees blocks 0-3 (positions 0..15): the window of position 24 starts at 17
        assertThat(kv.blockTable("a")).startsWith(-1, -1, -1, -1);
        // Another sequence takes 8 free blocks: the freed cached blocks 0..3 are reused and evicted.
        assertThat(kv.allocateSlots("filler", 0, 8 * BS)).isTrue();
        kv.free("filler");
        // The same prompt again: blocks 0-2 were evicted, block 3 is free but still cached, 4 is a's.
        // Its first new token (position 20) reads positions 13..19, in blocks 3 and 4: a hit of 5
        // blocks, the first three null. Without the window the evicted block 0 would end the hit.
        PrefixHit hit = kv.findCachedPrefix(i -> t[i], 24, null);
        assertThat(hit.numBlocks()).isEqualTo(5);
        assertThat(hit.blocks().subList(0, 3)).containsOnlyNulls();
        assertThat(hit.blocks().subList(3, 5)).doesNotContainNull();
        int free = kv.numFreeBlocks();
        assertThat(kv.allocateSlots("b", 20, 4, hit)).isTrue();
        assertThat(kv.blockTable("b")).startsWith(-1, -1, -1).hasSize(6);
        assertThat(kv.numFreeBlocks()).as("block 3 taken back from the free queue, block 5 new").isEqualTo(free - 2);
        assertThat(kv.blockTable("b")[4]).isEqualTo(kv.blockTable("a")[4]);
        kv.free("a");
        kv.free("b");
        assertThat(kv.numFreeBlocks()).isEqualTo(12);
    }

    @Test
    void aWindowedHitHoldsOnlyTheBlocksItsWindowReads() {
        int[] t = tokens(40, 3);
        for (boolean windowed : new boolean[] {true, false}) {
            KvCacheManager kv = new KvCacheManager(10, BS, true, 0,
                    windowed ? new SlidingWindow(W, 1, 1) : SlidingWindow.NONE);
            assertThat(kv.allocateSlots("a", 0, 40)).isTrue();
            kv.cacheFullBlocks("a", i -> t[i], 40, null);
            kv.free("a"); // all 10 blocks free, and cached
            PrefixHit hit = kv.findCachedPrefix(i -> t[i], 40, null);
            assertThat(hit.numBlocks()).isEqualTo(9);
            assertThat(kv.allocateSlots("b", 36, 4, hit)).isTrue();
            if (windowed) {
                // The first new token sits at 36 and reads 29..35: blocks 7 and 8, plus block 9 to write.
                assertThat(hit.blocks().subList(0, 7)).containsOnlyNulls();
                assertThat(kv.numFreeBlocks()).isEqualTo(7);
            } else {
                assertThat(hit.blocks()).doesNotContainNull();
                assertThat(kv.numFreeBlocks()).isZero();
            }
        }
    }

    @Test
    void forksAndSwapsKeepTheFreedEntries() {
        KvCacheManager kv = new KvCacheManager(16, BS, false, 8, new SlidingWindow(W, 1, 1));
        run(kv, "a", tokens(40, 0), 20, 6); // 26 tokens computed: blocks 0-3 freed
        int[] table = kv.blockTable("a");
        assertThat(table).startsWith(-1, -1, -1, -1).hasSize(7);
        kv.fork("a", "a#1");
        assertThat(kv.blockTable("a#1")).containsExactly(table);
        assertThat(kv.numDistinctBlocks(java.util.List.of("a", "a#1"))).isEqualTo(3);
        assertThat(kv.swapOut(java.util.List.of("a", "a#1"))).isTrue();
        assertThat(kv.numFreeBlocks()).isEqualTo(16);
        assertThat(kv.numBlocksToSwapIn(java.util.List.of("a", "a#1"))).isEqualTo(3);
        assertThat(kv.swapIn(java.util.List.of("a", "a#1"))).isTrue();
        assertThat(kv.blockTable("a")).startsWith(-1, -1, -1, -1).hasSize(7);
        assertThat(kv.blockTable("a#1")).containsExactly(kv.blockTable("a"));
        // The fork writes its next token into the shared last block: copy-on-write, window kept.
        assertThat(kv.allocateSlots("a#1", 26, 1)).isTrue();
        assertThat(kv.blockTable("a#1")[6]).isNotEqualTo(kv.blockTable("a")[6]);
        kv.free("a");
        kv.free("a#1");
        assertThat(kv.numFreeBlocks()).isEqualTo(16);
        assertThat(kv.numFreeSwapBlocks()).isEqualTo(8);
    }
}
