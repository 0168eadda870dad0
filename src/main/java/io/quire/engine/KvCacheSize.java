package io.quire.engine;

/**
 * The KV cache's memory on a device sized in bytes (the CPU; a GPU at gpu-memory-utilization 0),
 * and why, for the startup log. A positive {@link EngineConfig#kvCacheBytes} (kv-cache-memory) is
 * obeyed exactly, as vLLM obeys an explicit size. {@link EngineConfig#KV_CACHE_AUTO} (the server's
 * default) sizes the cache by what the engine can use at once: {@code maxNumSeqs} requests of the
 * maximum model length, each in whole blocks; at most {@link EngineConfig#DEFAULT_KV_CACHE_CAP},
 * and never less than one request of the maximum model length, without which the longest request
 * could never finish. A 260K-parameter model with a 512-token context so gets 40 MiB, not 512.
 *
 * @param bytes  the budget the model turns into blocks: a whole number of its blocks when sized by need
 * @param reason why this size, as the log line says it ("max-num-seqs 64 x 512 tokens")
 */
record KvCacheSize(long bytes, String reason) {

    /** The size for {@code config}, blocks of {@code bytesPerBlock} bytes and requests of {@code maxModelLen}. */
    static KvCacheSize choose(EngineConfig config, long bytesPerBlock, int maxModelLen) {
        if (config.kvCacheBytes() > 0) {
            return new KvCacheSize(config.kvCacheBytes(), "kv-cache-memory " + size(config.kvCacheBytes()) + " as set");
        }
        long perRequest = Math.ceilDiv(maxModelLen, config.blockSize());
        long needed = config.maxNumSeqs() * perRequest;
        long capBlocks = EngineConfig.DEFAULT_KV_CACHE_CAP / bytesPerBlock;
        String cap = size(EngineConfig.DEFAULT_KV_CACHE_CAP);
        String need = "max-num-seqs " + config.maxNumSeqs() + " x " + maxModelLen + " tokens";
        if (needed <= capBlocks) {
            return new KvCacheSize(needed * bytesPerBlock, need + " (kv-cache-memory unset, at most " + cap + ")");
        }
        if (capBlocks >= perRequest) {
            return new KvCacheSize(capBlocks * bytesPerBlock, "capped by the " + cap + " default budget; " + need
                    + " would take " + (needed * bytesPerBlock >> 20) + " MiB (set kv-cache-memory to choose)");
        }
        return new KvCacheSize(perRequest * bytesPerBlock, "one request of " + maxModelLen + " tokens, more than the "
                + cap + " default budget holds (kv-cache-memory unset)");
    }

    /** {@code bytes} as a Spring size ({@code 512MB}, {@code 4GB}; binary units) where it is a whole one. */
    static String size(long bytes) {
        String[] units = {"GB", "MB", "KB"};
        for (int i = 0; i < units.length; i++) {
            int shift = 10 * (units.length - i);
            if (bytes % (1L << shift) == 0) return (bytes >> shift) + units[i];
        }
        return bytes + "B";
    }
}
