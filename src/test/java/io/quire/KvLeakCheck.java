package io.quire;

import io.quire.engine.EngineStats;
import io.quire.engine.LLMEngine;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.springframework.test.context.junit.jupiter.SpringExtension;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * For Spring server tests, {@code @ExtendWith(KvLeakCheck.class)}: after each test (and after the
 * test's own {@code @AfterEach} methods) the engine of the test's context must come back to idle,
 * nothing running or waiting, with every KV block and swap block free, whatever happened to the
 * test's clients. Aborts and finishes are handled on the engine thread a step after the client
 * saw its response end, so this waits for that, up to {@link #TIMEOUT}, and fails the test after.
 */
public final class KvLeakCheck implements AfterEachCallback {
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    @Override
    public void afterEach(ExtensionContext context) {
        LLMEngine engine = SpringExtension.getApplicationContext(context).getBean(LLMEngine.class);
        await("the engine idle with every KV block free after " + context.getDisplayName())
                .atMost(TIMEOUT).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertIdleAndFree(engine.stats()));
    }

    static void assertIdleAndFree(EngineStats s) {
        assertThat(s.running()).as("running requests after the test").isZero();
        assertThat(s.waiting()).as("waiting requests after the test").isZero();
        assertThat(s.numFreeBlocks()).as("free KV blocks after the test (leak check)").isEqualTo(s.numTotalBlocks());
        assertThat(s.numFreeSwapBlocks()).as("free swap blocks after the test (leak check)")
                .isEqualTo(s.numTotalSwapBlocks());
    }
}
