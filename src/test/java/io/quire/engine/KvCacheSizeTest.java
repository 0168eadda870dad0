package io.quire.engine;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How big the KV cache is when kv-cache-memory is set, and when it is left to the engine (0). */
class KvCacheSizeTest {
    /** stories260K's block of 16 tokens on the CPU: 2 (K, V) x 5 layers x 16 tokens x 32 values x 4 bytes. */
    private static final long STORIES_BLOCK = 2 * 5 * 16 * 32 * 4;
    private static final EngineConfig AUTO = EngineConfig.defaults(EngineConfig.KV_CACHE_AUTO);

    @Test
    void unsetItHoldsMaxNumSeqsRequestsOfTheMaximumLength() {
        KvCacheSize size = KvCacheSize.choose(AUTO, STORIES_BLOCK, 512);
        assertThat(size.bytes()).isEqualTo(64 * (512 / 16) * STORIES_BLOCK).isEqualTo(40L << 20);
        assertThat(size.reason()).isEqualTo("max-num-seqs 64 x 512 tokens (kv-cache-memory unset, at most 512MB)");
        assertThat(KvCacheSize.choose(AUTO.withMaxNumSeqs(256), STORIES_BLOCK, 512).bytes())
                .isEqualTo(256 * 32 * STORIES_BLOCK);
        // Each request in whole blocks: 100 tokens take 7 blocks of 16.
        assertThat(KvCacheSize.choose(AUTO, STORIES_BLOCK, 100).bytes()).isEqualTo(64 * 7 * STORIES_BLOCK);
    }

    @Test
    void theDefaultBudgetCapsIt() {
        // 1024 x 512 tokens would take 640 MiB: the cap's 26214 blocks instead (today's fixed default).
        KvCacheSize size = KvCacheSize.choose(AUTO.withMaxNumSeqs(1024), STORIES_BLOCK, 512);
        assertThat(size.bytes() / STORIES_BLOCK).isEqualTo(26_214);
        assertThat(size.bytes()).isLessThanOrEqualTo(EngineConfig.DEFAULT_KV_CACHE_CAP);
        assertThat(size.reason()).isEqualTo("capped by the 512MB default budget; max-num-seqs 1024 x 512 tokens"
                + " would take 640 MiB (set kv-cache-memory to choose)");
    }

    @Test
    void butNeverBelowOneRequestOfTheMaximumLength() {
        // 16 MiB a block (a 7B model's FP32 KV): 512MB holds 32 blocks, one request of 4096 tokens needs 256.
        long block = 16L << 20;
        KvCacheSize size = KvCacheSize.choose(AUTO, block, 4096);
        assertThat(size.bytes()).isEqualTo(256 * block);
        assertThat(size.reason()).isEqualTo("one request of 4096 tokens, more than the 512MB default budget holds"
                + " (kv-cache-memory unset)");
    }

    @Test
    void aSizeThatIsSetIsObeyedExactly() {
        for (long bytes : new long[] {512L << 20, 16L << 20, 3 * STORIES_BLOCK + 7}) {
            KvCacheSize size = KvCacheSize.choose(EngineConfig.defaults(bytes), STORIES_BLOCK, 512);
            assertThat(size.bytes()).isEqualTo(bytes);
        }
        assertThat(KvCacheSize.choose(EngineConfig.defaults(512L << 20), STORIES_BLOCK, 512).reason())
                .isEqualTo("kv-cache-memory 512MB as set");
        assertThat(KvCacheSize.choose(EngineConfig.defaults(4L << 30), STORIES_BLOCK, 512).reason())
                .isEqualTo("kv-cache-memory 4GB as set");
        assertThat(KvCacheSize.size(3 * STORIES_BLOCK + 7)).isEqualTo("61447B");
        assertThatThrownBy(() -> EngineConfig.defaults(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0: sized by need");
    }
}
