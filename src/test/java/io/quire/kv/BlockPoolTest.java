package io.quire.kv;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BlockPoolTest {

    @Test
    void allocatesDistinctBlocksAndTakesThemBack() {
        BlockPool pool = new BlockPool(4);
        List<KvCacheBlock> a = pool.allocate(3);
        assertThat(a).extracting(KvCacheBlock::blockId).doesNotHaveDuplicates().hasSize(3);
        assertThat(a).allMatch(b -> b.refCount() == 1);
        assertThat(pool.numFreeBlocks()).isEqualTo(1);
        assertThat(pool.usage()).isEqualTo(0.75);
        assertThatThrownBy(() -> pool.allocate(2)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("only 1 free");
        pool.free(a);
        assertThat(pool.numFreeBlocks()).isEqualTo(4);
        assertThat(pool.usage()).isZero();
    }

    @Test
    void sharedBlockReturnsOnlyWhenTheLastReferenceGoes() {
        BlockPool pool = new BlockPool(2);
        KvCacheBlock b = pool.allocate(1).getFirst();
        pool.share(b);
        pool.free(List.of(b));
        assertThat(pool.numFreeBlocks()).isEqualTo(1);
        pool.free(List.of(b));
        assertThat(pool.numFreeBlocks()).isEqualTo(2);
        assertThatThrownBy(() -> pool.free(List.of(b))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> pool.share(b)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void freedCachedBlocksGoToTheBackOfTheQueue() {
        BlockPool pool = new BlockPool(3);
        KvCacheBlock first = pool.allocate(1).getFirst();
        assertThat(pool.cache(first, BlockHash.of(null, new int[] {1, 2}, null))).isTrue();
        pool.free(List.of(first));
        // Block 0 went back behind 1 and 2, still findable until it is handed out again.
        assertThat(pool.allocate(2)).extracting(KvCacheBlock::blockId).containsExactly(1, 2);
        assertThat(pool.numCachedBlocks()).isEqualTo(1);
        assertThat(pool.allocate(1)).extracting(KvCacheBlock::blockId).containsExactly(0);
        assertThat(pool.numCachedBlocks()).isZero();
        assertThat(pool.numEvictions()).isEqualTo(1);
    }

    @Test
    void freedBlocksWithoutAHashAreReusedFirstMostRecentFirst() {
        // Their pages are written already: reusing them spares fresh pages (and page faults).
        BlockPool pool = new BlockPool(6);
        List<KvCacheBlock> a = pool.allocate(3);
        pool.free(a.reversed());  // as sequences free them: tail first
        assertThat(pool.numFreeBlocks()).isEqualTo(6);
        assertThat(pool.allocate(4)).extracting(KvCacheBlock::blockId).containsExactly(0, 1, 2, 3);
        assertThat(pool.numFreeBlocks()).isEqualTo(2);
        assertThat(pool.usage()).isCloseTo(4 / 6.0, org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void aBlockFreedTwiceIsRefusedWhetherCachedOrNot() {
        BlockPool pool = new BlockPool(2);
        List<KvCacheBlock> a = pool.allocate(2);
        pool.cache(a.get(1), BlockHash.of(null, new int[] {7}, null));
        pool.free(a);
        assertThatThrownBy(() -> pool.free(List.of(a.get(0)))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> pool.free(List.of(a.get(1)))).isInstanceOf(IllegalStateException.class);
        assertThat(pool.numFreeBlocks()).isEqualTo(2);
    }

    @Test
    void rejectsAnEmptyPool() {
        assertThatThrownBy(() -> new BlockPool(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
