package io.quire.engine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;

/**
 * vLLM's periodic engine log line: prompt and generation throughput since the last line, with the
 * engine's running, waiting, KV usage and preemption figures, at most every 10 s while there is
 * work; and vLLM's speculative decoding line when drafts ran since. Engine thread only.
 */
final class ThroughputLog {
    private static final Logger log = LoggerFactory.getLogger(ThroughputLog.class);
    private static final long INTERVAL_NANOS = 10_000_000_000L;

    private final long intervalNanos;
    private long lastLogNanos = System.nanoTime();
    private long promptTokens;
    private long generationTokens;
    // speculative decoding since the last line: drafts, their tokens, those kept, and kept by position
    private long drafts;
    private long draftTokens;
    private long keptTokens;
    private long[] keptAt = new long[0];

    ThroughputLog() { this(INTERVAL_NANOS); }

    /** A log due every {@code intervalNanos} (tests: 0, every call). */
    ThroughputLog(long intervalNanos) { this.intervalNanos = intervalNanos; }

    void addPromptTokens(long n) { promptTokens += n; }

    void addGenerationTokens(long n) { generationTokens += n; }

    /** A sequence ran a draft of {@code drafted} tokens and kept its first {@code kept}. */
    void addDraft(int drafted, int kept) {
        drafts++;
        draftTokens += drafted;
        keptTokens += kept;
        if (keptAt.length < drafted) keptAt = Arrays.copyOf(keptAt, drafted);
        for (int j = 0; j < kept; j++) keptAt[j]++;
    }

    /** Logs the line if the interval has passed since the last one. */
    void maybeLog(EngineStats s) {
        long now = System.nanoTime();
        if (now - lastLogNanos < intervalNanos) return;
        double secs = (now - lastLogNanos) / 1e9;
        log.info("Avg prompt throughput: {} tokens/s, Avg generation throughput: {} tokens/s, Running: {} reqs, "
                        + "Waiting: {} reqs, KV cache usage: {}%, Preemptions: {}",
                oneDecimal(promptTokens / secs), oneDecimal(generationTokens / secs), s.running(), s.waiting(),
                oneDecimal(s.kvCacheUsage() * 100), s.numPreemptions());
        if (drafts > 0) {
            // vLLM's line; the mean acceptance length counts the token each step samples anyway
            StringBuilder perPosition = new StringBuilder();
            for (long k : keptAt) perPosition.append(perPosition.isEmpty() ? "" : ", ").append(
                    String.format("%.3f", (double) k / drafts));
            log.info("SpecDecoding metrics: Mean acceptance length: {}, Accepted throughput: {} tokens/s, Drafted"
                            + " throughput: {} tokens/s, Accepted: {} tokens, Drafted: {} tokens, Per-position"
                            + " acceptance rate: {}, Avg Draft acceptance rate: {}%",
                    String.format("%.2f", 1 + (double) keptTokens / drafts), oneDecimal(keptTokens / secs),
                    oneDecimal(draftTokens / secs), keptTokens, draftTokens, perPosition,
                    oneDecimal(100.0 * keptTokens / draftTokens));
        }
        lastLogNanos = now;
        promptTokens = 0;
        generationTokens = 0;
        drafts = 0;
        draftTokens = 0;
        keptTokens = 0;
        Arrays.fill(keptAt, 0);
    }

    private static String oneDecimal(double v) { return String.format("%.1f", v); }
}
