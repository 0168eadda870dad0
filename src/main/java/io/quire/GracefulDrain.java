package io.quire;

import io.quire.engine.LLMEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;

import java.time.Duration;

/**
 * Graceful shutdown (SIGTERM): readiness goes out of service and the engine refuses new requests
 * (503), running requests may finish within {@code quire.shutdown-grace}, then the rest are
 * aborted, so every open stream gets a last {@code finish_reason: "abort"} chunk and
 * {@code [DONE]}. It stops before the web server's own graceful shutdown (a lower phase), which
 * then only waits for those last chunks to be written.
 */
public final class GracefulDrain implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(GracefulDrain.class);
    /** Between the default phase (stopped first) and the web server's graceful shutdown (default - 1024). */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;
    private static final Duration ABORT_WAIT = Duration.ofSeconds(5);

    private final LLMEngine engine;
    private final Duration grace;
    private final ApplicationEventPublisher events;
    private volatile boolean running;

    public GracefulDrain(LLMEngine engine, Duration grace, ApplicationEventPublisher events) {
        this.engine = engine;
        this.grace = grace;
        this.events = events;
    }

    @Override
    public void start() { running = true; }

    @Override
    public void stop() {
        if (!running) return;
        running = false;
        AvailabilityChangeEvent.publish(events, this, ReadinessState.REFUSING_TRAFFIC);
        engine.stopAccepting();
        int active = engine.numActiveRequests();
        if (active > 0) log.info("Shutting down: {} requests may finish within {} s", active, grace.toSeconds());
        if (!waitForIdle(grace)) {
            log.info("Shutting down: aborting {} requests still running after the grace period",
                    engine.numActiveRequests());
            engine.abortAll();
            if (!waitForIdle(ABORT_WAIT)) log.warn("Shutting down: requests did not end after their abort");
        }
    }

    /** Polls (sleeping, never spinning) until no request is active or the time is up. */
    private boolean waitForIdle(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (engine.numActiveRequests() > 0) {
            if (System.nanoTime() >= deadline) return false;
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return engine.numActiveRequests() == 0;
            }
        }
        return true;
    }

    @Override
    public boolean isRunning() { return running; }

    /**
     * Draining is for the end of the process only, not for a context that is merely paused (as cached test contexts
     * are).
     */
    @Override
    public boolean isPauseable() { return false; }

    @Override
    public int getPhase() { return PHASE; }
}
