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
    void freedBlocksGoToTheBackOfTheQueue() {
        BlockPool pool = new BlockPool(3);
        List<KvCacheBlock> first = pool.allocate(1);
        pool.free(first);
        // Block 0 went back behind 1 and 2.
        assertThat(pool.allocate(3)).extracting(KvCacheBlock::blockId).containsExactly(1, 2, 0);
    }

    @Test
    void rejectsAnEmptyPool() {
        assertThatThrownBy(() -> new BlockPool(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
