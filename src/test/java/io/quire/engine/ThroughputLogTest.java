package io.quire.engine;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The periodic engine log: vLLM's throughput line, and its speculative decoding line when drafts ran. */
class ThroughputLogTest {
    private final Logger logger = (Logger) LoggerFactory.getLogger(ThroughputLog.class);
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    @BeforeEach
    void capture() {
        appender.start();
        logger.addAppender(appender);
    }

    @AfterEach
    void release() {
        logger.detachAppender(appender);
    }

    private List<String> lines() {
        return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void draftsGetVllmsSpecDecodingLineAndOnlyForTheirInterval() {
        ThroughputLog log = new ThroughputLog(0);
        EngineStats stats = new EngineStats(2, 0, 10, 16, 0.375, 0);
        log.addGenerationTokens(9);
        log.addDraft(3, 2);
        log.addDraft(3, 0);
        log.addDraft(2, 2);
        log.maybeLog(stats);
        assertThat(lines()).hasSize(2);
        assertThat(lines().get(0)).startsWith("Avg prompt throughput: ").contains("Running: 2 reqs",
                "KV cache usage: 37.5%");
        // 3 drafts kept 4 of 8 tokens: 1 + 4/3 tokens a step; positions 0 and 1 kept by 2 of 3, position 2 by none
        assertThat(lines().get(1)).startsWith("SpecDecoding metrics: Mean acceptance length: 2.33, ")
                .contains("Accepted: 4 tokens, Drafted: 8 tokens",
                        "Per-position acceptance rate: 0.667, 0.667, 0.000", "Avg Draft acceptance rate: 50.0%");
        log.maybeLog(stats);
        assertThat(lines()).hasSize(3);
        assertThat(lines().get(2)).startsWith("Avg prompt throughput: ");
    }
}
