package io.quire.kv;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

class KvCacheManagerTest {

    @Test
    void allocatesBlocksStepByStep() {
        KvCacheManager kv = new KvCacheManager(10, 4);
        assertThat(kv.allocateSlots("a", 0, 5)).isTrue();  // 5 tokens: 2 blocks
        assertThat(kv.numBlocks("a")).isEqualTo(2);
        assertThat(kv.allocateSlots("a", 5, 3)).isTrue();  // 8 tokens: still 2 blocks
        assertThat(kv.numBlocks("a")).isEqualTo(2);
        assertThat(kv.allocateSlots("a", 8, 1)).isTrue();  // 9: 3 blocks
        assertThat(kv.numBlocks("a")).isEqualTo(3);
        assertThat(kv.numFreeBlocks()).isEqualTo(7);
        assertThat(kv.usage()).isEqualTo(0.3, offset(1e-9));
    }

    @Test
    void refusesWithoutAllocatingWhenBlocksRunOut() {
        KvCacheManager kv = new KvCacheManager(3, 4);
        assertThat(kv.allocateSlots("a", 0, 8)).isTrue();
        assertThat(kv.allocateSlots("b", 0, 8)).isFalse();
        assertThat(kv.numBlocks("b")).isZero();
        assertThat(kv.numFreeBlocks()).isEqualTo(1);
        kv.free("a");
        assertThat(kv.numFreeBlocks()).isEqualTo(3);
        assertThat(kv.allocateSlots("b", 0, 12)).isTrue();
        kv.free("b");
        kv.free("b"); // a no-op
        assertThat(kv.numFreeBlocks()).isEqualTo(3);
    }

    @Test
    void aNewSequenceReusesTheBlocksAFinishedOneWroteUnlessTheyHoldACachedPrefix() {
        // Prefix caching off: nothing in a freed block can be found again, so the next sequence gets the
        // same (already written) blocks rather than ones never touched.
        KvCacheManager off = new KvCacheManager(16, 4, false, 0);
        off.allocateSlots("a", 0, 10);
        Set<Integer> written = blocks(off.blockTable("a"));
        off.free("a");
        off.allocateSlots("b", 0, 10);
        assertThat(blocks(off.blockTable("b"))).isEqualTo(written);

        // Prefix caching on: a's two full blocks stay findable (the back of the queue), only its partial
        // last block is reused at once.
        KvCacheManager on = new KvCacheManager(16, 4, true, 0);
        int[] tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        on.allocateSlots("a", 0, 10);
        on.cacheFullBlocks("a", i -> tokens[i], 10, null);
        int[] a = on.blockTable("a");
        on.free("a");
        assertThat(on.numCachedBlocks()).isEqualTo(2);
        on.allocateSlots("c", 0, 10);
        int[] c = on.blockTable("c");
        assertThat(c[0]).isEqualTo(a[2]);
        assertThat(blocks(c)).doesNotContain(a[0], a[1]);
        assertThat(on.numCachedBlocks()).isEqualTo(2);
        assertThat(on.findCachedPrefix(i -> tokens[i], 10, null).numBlocks()).isEqualTo(2);
    }

    private static Set<Integer> blocks(int[] table) {
        Set<Integer> out = new HashSet<>();
        for (int b : table) out.add(b);
        return out;
    }

    @Test
    void slotMappingFollowsTheBlockTable() {
        KvCacheManager kv = new KvCacheManager(8, 4);
        kv.allocateSlots("x", 0, 3);
        kv.allocateSlots("a", 0, 10);
        int[] table = kv.blockTable("a");
        assertThat(table).hasSize(3);
        int[] slots = new int[12];
        kv.slotMapping("a", 2, 8, slots, 4);
        for (int i = 0; i < 8; i++) {
            int pos = 2 + i;
            assertThat(slots[4 + i]).isEqualTo(table[pos / 4] * 4 + pos % 4);
        }
        Set<Integer> distinct = new HashSet<>();
        for (int i = 4; i < 12; i++) distinct.add(slots[i]);
        assertThat(distinct).hasSize(8);
        assertThatThrownBy(() -> kv.slotMapping("a", 10, 3, new int[3], 0)).isInstanceOf(IllegalStateException.class);
    }
}
