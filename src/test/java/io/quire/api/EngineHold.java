package io.quire.api;

import io.quire.engine.LLMEngine;
import io.quire.kv.KvMemoryReport;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Holds the engine at a step boundary once a request has run {@code steps} steps, until closed:
 * the engine's report listeners run on its thread, so blocking one stops the engine there. Used
 * to look at a running request (its KV blocks, the events it already streamed) deterministically.
 * The listener stays registered afterwards but does nothing more.
 */
final class EngineHold implements AutoCloseable {
    private final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    private final AtomicInteger seen = new AtomicInteger();
    private final int steps;

    private EngineHold(int steps) {
        this.steps = steps;
    }

    static EngineHold afterSteps(LLMEngine engine, int steps) {
        EngineHold hold = new EngineHold(steps);
        engine.addKvReportListener(hold::onReport);
        return hold;
    }

    private void onReport(KvMemoryReport report) {
        if (held.getCount() == 0 || report.sequences().isEmpty() || seen.incrementAndGet() < steps) return;
        held.countDown();
        try {
            released.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void awaitHeld() throws InterruptedException {
        assertThat(held.await(60, TimeUnit.SECONDS)).as("the engine reached the step to hold").isTrue();
    }

    @Override
    public void close() {
        released.countDown();
    }
}
