package io.quire.engine;

import io.micrometer.core.instrument.Counter;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bound on sequences submitted and not yet scheduled ({@link EngineConfig#maxWaitingRequests}):
 * a submission takes its places at once or is refused (HTTP 429); a request gives them back when
 * it is first scheduled, or ends before. Thread-safe.
 */
final class WaitingBound {
    private final int limit;
    private final Counter rejected;
    private final AtomicInteger waiting = new AtomicInteger();

    WaitingBound(int limit, Counter rejected) {
        this.limit = limit;
        this.rejected = rejected;
    }

    /** Takes {@code n} places, or refuses the whole submission. */
    void reserve(int n) {
        if (n > limit) {
            throw new InvalidRequestException(null, "This request has " + n + " sequences (prompts x n), more than the"
                    + " server queues at once (" + limit + "); send fewer prompts (or inputs) or a smaller n/best_of.");
        }
        while (true) {
            int now = waiting.get();
            if (now + n > limit) {
                rejected.increment();
                throw new EngineOverloadedException("The server is busy: " + now + " sequences are waiting (limit "
                        + limit + "); retry later.", 1);
            }
            if (waiting.compareAndSet(now, now + n)) return;
        }
    }

    /** Gives back {@code n} places taken by {@link #reserve} that no request holds. */
    void release(int n) { waiting.addAndGet(-n); }

    /** Gives back the places a request holds ({@link Request#waitingSlots}), once. */
    void release(Request r) {
        int n = r.waitingSlots;
        r.waitingSlots = 0;
        if (n != 0) waiting.addAndGet(-n);
    }
}
