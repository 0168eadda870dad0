package io.quire.kv;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Prefix caching, forks with copy-on-write and swapping in the block manager alone. */
class KvCacheSharingTest {

    private static int[] tokens(int n, int salt) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 3 + (i * 7 + salt) % 97;
        return t;
    }

    private static void computeAll(KvCacheManager kv, String id, int[] t) {
        assertThat(kv.allocateSlots(id, 0, t.length)).isTrue();
        kv.cacheFullBlocks(id, i -> t[i], t.length, null);
    }

    @Test
    void aCachedPrefixIsFoundVerifiedAndTakenButNeverItsLastToken() {
        KvCacheManager kv = new KvCacheManager(20, 4, true, 0);
        int[] a = tokens(40, 0);
        computeAll(kv, "a", a);
        assertThat(kv.numCachedBlocks()).isEqualTo(10);

        // The same 40 tokens: 9 blocks (the 40th token is recomputed for its logits).
        PrefixHit same = kv.findCachedPrefix(i -> a[i], 40, null);
        assertThat(same.numBlocks()).isEqualTo(9);
        // 41 tokens with the same first 40: all 10 blocks.
        int[] longer = Arrays.copyOf(a, 41);
        assertThat(kv.findCachedPrefix(i -> longer[i], 41, null).numBlocks()).isEqualTo(10);
        // A different token in block 3 ends the prefix there (chained hashes), another salt shares nothing.
        int[] diverged = a.clone();
        diverged[13] = 99;
        assertThat(kv.findCachedPrefix(i -> diverged[i], 40, null).numBlocks()).isEqualTo(3);
        assertThat(kv.findCachedPrefix(i -> a[i], 40, "salt").numBlocks()).isZero();

        // Taking the hit shares the blocks: b's first 9 blocks are a's, with 2 references each.
        assertThat(kv.allocateSlots("b", 36, 4, same)).isTrue();
        int[] ta = kv.blockTable("a"), tb = kv.blockTable("b");
        for (int i = 0; i < 9; i++) {
            assertThat(tb[i]).isEqualTo(ta[i]);
            assertThat(kv.refCount(ta[i])).isEqualTo(2);
        }
        assertThat(tb[9]).isNotEqualTo(ta[9]);
        assertThat(kv.numUsedBlocks()).isEqualTo(11);
    }

    @Test
    void freedCachedBlocksStayFindableUntilTheLeastRecentlyFreedAreEvicted() {
        KvCacheManager kv = new KvCacheManager(8, 4, true, 0);
        int[] a = tokens(17, 1), b = tokens(17, 2);
        computeAll(kv, "a", a);      // 5 blocks, 4 full
        kv.free("a");
        assertThat(kv.numFreeBlocks()).isEqualTo(8);
        assertThat(kv.findCachedPrefix(i -> a[i], 17, null).numBlocks()).isEqualTo(4);

        // b needs 5 blocks: the 3 never-used ones, then a's least recently freed: its tail blocks first.
        computeAll(kv, "b", b);
        assertThat(kv.findCachedPrefix(i -> a[i], 17, null).numBlocks()).isEqualTo(3);
        kv.free("b");
        // A hit on free cached blocks takes them out of the free queue.
        PrefixHit hit = kv.findCachedPrefix(i -> a[i], 17, null);
        assertThat(kv.allocateSlots("a2", 12, 5, hit)).isTrue();
        assertThat(kv.numUsedBlocks()).isEqualTo(5);
        // Its 2 new blocks were b's least recently freed: b's tail (the partial block, then block 3).
        assertThat(kv.findCachedPrefix(i -> b[i], 17, null).numBlocks()).isEqualTo(3);
    }

    @Test
    void aForkSharesEveryBlockAndCopiesOnlyTheBlockItWritesWhileShared() {
        KvCacheManager kv = new KvCacheManager(10, 4);
        assertThat(kv.allocateSlots("a", 0, 6)).isTrue(); // blocks: full, half
        kv.fork("a", "b");
        kv.fork("a", "c");
        int[] ta = kv.blockTable("a");
        assertThat(kv.blockTable("b")).containsExactly(ta);
        assertThat(kv.refCount(ta[0])).isEqualTo(3);
        assertThat(kv.refCount(ta[1])).isEqualTo(3);
        assertThat(kv.numUsedBlocks()).isEqualTo(2);

        // b writes position 6 into the shared half block: it gets a copy first.
        assertThat(kv.allocateSlots("b", 6, 1)).isTrue();
        assertThat(kv.takeBlockOps()).containsExactly(new BlockOp(BlockOp.Kind.COPY, ta[1], kv.blockTable("b")[1]));
        assertThat(kv.blockTable("b")[0]).isEqualTo(ta[0]);
        assertThat(kv.refCount(ta[1])).isEqualTo(2);
        assertThat(kv.allocateSlots("c", 6, 1)).isTrue();
        assertThat(kv.takeBlockOps()).hasSize(1);
        // The last holder writes in place.
        assertThat(kv.allocateSlots("a", 6, 1)).isTrue();
        assertThat(kv.takeBlockOps()).isEmpty();
        assertThat(kv.blockTable("a")).containsExactly(ta);
        assertThat(kv.refCount(ta[0])).isEqualTo(3);
        assertThat(kv.numUsedBlocks()).isEqualTo(4);
        assertThat(kv.numCowCopies()).isEqualTo(2);
        for (String id : List.of("a", "b", "c")) kv.free(id);
        assertThat(kv.numFreeBlocks()).isEqualTo(10);
    }

    @Test
    void aSiblingTakesTheLeadingBlocksOfAnotherSequenceWithoutPrefixCaching() {
        KvCacheManager kv = new KvCacheManager(10, 4);
        assertThat(kv.allocateSlots("a", 0, 10)).isTrue();
        int[] ta = kv.blockTable("a");
        assertThat(kv.sharedPrefix("a", 0)).isEqualTo(PrefixHit.NONE);
        PrefixHit two = kv.sharedPrefix("a", 2);
        assertThat(two.numBlocks()).isEqualTo(2);
        assertThat(two.hashes()).isEmpty(); // prefix caching off: no hashes to carry

        // b (11 tokens, its first 8 a's) computes from token 8, in a block of its own.
        assertThat(kv.allocateSlots("b", 8, 3, two)).isTrue();
        int[] tb = kv.blockTable("b");
        assertThat(tb).hasSize(3).startsWith(ta[0], ta[1]);
        assertThat(tb[2]).isNotIn(ta[0], ta[1], ta[2]);
        assertThat(kv.refCount(ta[0])).isEqualTo(2);
        assertThat(kv.refCount(ta[2])).isOne();
        assertThat(kv.takeBlockOps()).isEmpty(); // nothing to copy: neither writes the shared blocks
        assertThat(kv.numUsedBlocks()).isEqualTo(4);

        kv.free("a");
        assertThat(kv.refCount(ta[0])).isOne();
        kv.free("b");
        assertThat(kv.numFreeBlocks()).isEqualTo(10);
    }

    @Test
    void copyOnWriteNeedsAFreeBlockOrChangesNothing() {
        KvCacheManager kv = new KvCacheManager(2, 4);
        assertThat(kv.allocateSlots("a", 0, 6)).isTrue();
        kv.fork("a", "b");
        assertThat(kv.allocateSlots("b", 6, 1)).isFalse();
        assertThat(kv.takeBlockOps()).isEmpty();
        assertThat(kv.blockTable("b")).containsExactly(kv.blockTable("a"));
    }

    @Test
    void swappingMovesSharedBlocksOnceAndKeepsThemShared() {
        KvCacheManager kv = new KvCacheManager(6, 4, false, 4);
        assertThat(kv.allocateSlots("a", 0, 6)).isTrue();
        kv.fork("a", "b");
        assertThat(kv.allocateSlots("b", 6, 1)).isTrue(); // b: [shared full, own copy]
        kv.takeBlockOps();
        assertThat(kv.numDistinctBlocks(List.of("a", "b"))).isEqualTo(3);
        assertThat(kv.swapOut(List.of("a", "b"))).isTrue();
        List<BlockOp> out = kv.takeBlockOps();
        assertThat(out).hasSize(3).allMatch(op -> op.kind() == BlockOp.Kind.SWAP_OUT);
        assertThat(kv.numFreeBlocks()).isEqualTo(6);
        assertThat(kv.numFreeSwapBlocks()).isEqualTo(1);
        assertThat(kv.isSwapped("a")).isTrue();
        // A fork while swapped shares swap blocks.
        kv.fork("b", "c");
        assertThat(kv.numBlocksToSwapIn(List.of("a", "b", "c"))).isEqualTo(3);
        assertThat(kv.swapIn(List.of("a", "b", "c"))).isTrue();
        assertThat(kv.takeBlockOps()).hasSize(3).allMatch(op -> op.kind() == BlockOp.Kind.SWAP_IN);
        int[] ta = kv.blockTable("a"), tb = kv.blockTable("b"), tc = kv.blockTable("c");
        assertThat(tb[0]).isEqualTo(ta[0]);
        assertThat(tb[1]).isNotEqualTo(ta[1]);
        assertThat(tc).containsExactly(tb);
        assertThat(kv.refCount(ta[0])).isEqualTo(3);
        assertThat(kv.numFreeSwapBlocks()).isEqualTo(4);
        // Too little swap space: nothing moves.
        assertThat(kv.allocateSlots("d", 0, 16)).isFalse();
        KvCacheManager small = new KvCacheManager(6, 4, false, 1);
        assertThat(small.allocateSlots("x", 0, 8)).isTrue();
        assertThat(small.swapOut(List.of("x"))).isFalse();
        assertThat(small.takeBlockOps()).isEmpty();
        assertThat(small.numBlocks("x")).isEqualTo(2);
    }

    /**
     * Random allocations, hits, forks, writes, swaps and frees: at the end every count is zero and
     * both pools are full.
     */
    @Test
    void randomSharingNeverLeaks() {
        for (long seed = 1; seed <= 30; seed++) {
            Random rnd = new Random(seed);
            int bs = 1 + rnd.nextInt(4);
            KvCacheManager kv = new KvCacheManager(40, bs, rnd.nextBoolean(), rnd.nextInt(20));
            Map<String, int[]> seqs = new HashMap<>(); // id -> {numTokens}
            Map<String, int[]> toks = new HashMap<>();
            List<String> swapped = new ArrayList<>();
            int next = 0;
            for (int it = 0; it < 400; it++) {
                int op = rnd.nextInt(6);
                List<String> live = new ArrayList<>(seqs.keySet());
                live.removeAll(swapped);
                if (op == 0 || live.isEmpty()) {
                    String id = "s" + next++;
                    int[] t = new int[64];
                    for (int i = 0; i < t.length; i++) t[i] = rnd.nextInt(3);
                    int n = 1 + rnd.nextInt(20);
                    PrefixHit hit = kv.findCachedPrefix(i -> t[i], n, null);
                    int cached = hit.numBlocks() * bs;
                    if (kv.allocateSlots(id, cached, n - cached, hit)) {
                        kv.cacheFullBlocks(id, i -> t[i], n, null);
                        seqs.put(id, new int[]{n});
                        toks.put(id, t);
                    }
                } else if (op == 1) {
                    String p = live.get(rnd.nextInt(live.size()));
                    String id = "s" + next++;
                    kv.fork(p, id);
                    seqs.put(id, seqs.get(p).clone());
                    toks.put(id, toks.get(p).clone());
                } else if (op == 2) {
                    String id = live.get(rnd.nextInt(live.size()));
                    int n = seqs.get(id)[0];
                    if (n < 60 && kv.allocateSlots(id, n, 1)) {
                        seqs.get(id)[0] = n + 1;
                        kv.cacheFullBlocks(id, i -> toks.get(id)[i], n + 1, null);
                    }
                } else if (op == 3) {
                    String id = live.get(rnd.nextInt(live.size()));
                    kv.free(id);
                    seqs.remove(id);
                } else if (op == 4) {
                    List<String> group = live.subList(0, Math.min(live.size(), 1 + rnd.nextInt(3)));
                    if (kv.swapOut(List.copyOf(group))) swapped.addAll(group);
                } else if (!swapped.isEmpty()) {
                    if (rnd.nextBoolean() && kv.swapIn(List.copyOf(swapped))) swapped.clear();
                    else if (rnd.nextBoolean()) {
                        String id = swapped.removeLast();
                        kv.free(id);
                        seqs.remove(id);
                    }
                }
                kv.takeBlockOps();
                int refs = 0;
                for (String id : seqs.keySet()) if (!swapped.contains(id)) refs += kv.numBlocks(id);
                int counted = 0;
                for (int b = 0; b < kv.numTotalBlocks(); b++) counted += kv.refCount(b);
                assertThat(counted).as("seed %d: device references equal table entries", seed).isEqualTo(refs);
            }
            for (String id : List.copyOf(seqs.keySet())) kv.free(id);
            assertThat(kv.numFreeBlocks()).isEqualTo(40);
            assertThat(kv.numFreeSwapBlocks()).isEqualTo(kv.numSwapBlocks());
            for (int b = 0; b < 40; b++) assertThat(kv.refCount(b)).isZero();
            for (int b = 0; b < kv.numSwapBlocks(); b++) assertThat(kv.swapRefCount(b)).isZero();
            assertThat(kv.numRequests()).isZero();
            assertThat(kv.numSwappedSequences()).isZero();
        }
    }
}
