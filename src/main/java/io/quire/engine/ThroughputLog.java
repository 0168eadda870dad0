package io.quire.engine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * vLLM's periodic engine log line: prompt and generation throughput since the last line, with the
 * engine's running, waiting, KV usage and preemption figures, at most every 10 s while there is
 * work. Engine thread only.
 */
final class ThroughputLog {
    private static final Logger log = LoggerFactory.getLogger(ThroughputLog.class);
    private static final long INTERVAL_NANOS = 10_000_000_000L;

    private long lastLogNanos = System.nanoTime();
    private long promptTokens;
    private long generationTokens;

    void addPromptTokens(long n) { promptTokens += n; }

    void addGenerationTokens(long n) { generationTokens += n; }

    /** Logs the line if the interval has passed since the last one. */
    void maybeLog(EngineStats s) {
        long now = System.nanoTime();
        if (now - lastLogNanos < INTERVAL_NANOS) return;
        double secs = (now - lastLogNanos) / 1e9;
        log.info("Avg prompt throughput: {} tokens/s, Avg generation throughput: {} tokens/s, Running: {} reqs, "
                        + "Waiting: {} reqs, KV cache usage: {}%, Preemptions: {}",
                oneDecimal(promptTokens / secs), oneDecimal(generationTokens / secs), s.running(), s.waiting(),
                oneDecimal(s.kvCacheUsage() * 100), s.numPreemptions());
        lastLogNanos = now;
        promptTokens = 0;
        generationTokens = 0;
    }

    private static String oneDecimal(double v) { return String.format("%.1f", v); }
}
