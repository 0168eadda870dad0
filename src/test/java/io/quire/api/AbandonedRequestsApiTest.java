package io.quire.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.quire.engine.EngineStats;
import org.awaitility.core.ConditionFactory;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Clients that leave: whatever the moment (queued, prefilling, streaming, before the response
 * began) and however many prompts, their engine requests are aborted at once, none runs on to
 * {@code max_tokens}.
 */
class AbandonedRequestsApiTest extends Stories260KServerTest {
    @Autowired
    MeterRegistry registry;

    private double finished(String reason) {
        var c = registry.find("quire_request_success").tag("finished_reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    /** Opens a connection, sends the request and returns the socket (the caller decides when to leave). */
    private Socket send(String path, String body) throws Exception {
        Socket s = new Socket("localhost", port);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        return s;
    }

    /** Polls (every 5 ms) for at most {@code limit}: aborts take effect at the engine's next step. */
    private static ConditionFactory within(Duration limit) {
        return await().atMost(limit).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5));
    }

    /** Whether the engine holds no request within {@code limit}. */
    private boolean noRequestWithin(Duration limit) {
        try {
            within(limit).until(() -> engine.numActiveRequests() == 0);
            return true;
        } catch (ConditionTimeoutException e) {
            return false;
        }
    }

    private static String prompts(int count) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < count; i++) {
            sb.append(i == 0 ? "" : ", ").append("\"Once upon a time ").append(i).append('"');
        }
        return sb.append(']').toString();
    }

    @Test
    void aRequestOfThreeHundredPromptsIsAbortedWholeWhenItsClientLeaves() throws Exception {
        for (boolean stream : new boolean[]{true, false}) {
            double lengthBefore = finished("length");
            String body = """
                    {"model": "stories260K", "prompt": %s, "max_tokens": 300, "ignore_eos": true, "stream": %s}"""
                    .formatted(prompts(300), stream);
            try (Socket s = send("/v1/completions", body)) {
                if (stream) {
                    // Leave once the stream has begun: its first bytes arrived.
                    InputStream in = s.getInputStream();
                    assertThat(in.read()).isNotNegative();
                } else {
                    within(Duration.ofSeconds(30)).until(() -> engine.numActiveRequests() >= 300);
                }
                assertThat(engine.numActiveRequests()).as("all 300 prompts were queued").isEqualTo(300);
            }
            long left = System.nanoTime();
            boolean streaming = stream;
            within(Duration.ofSeconds(1)).untilAsserted(() -> {
                assertThat(engine.numActiveRequests())
                        .as("requests active after the client left (stream=%s)", streaming).isZero();
                EngineStats after = engine.stats();
                assertThat(after.running() + after.waiting()).as("running + waiting").isZero();
            });
            assertThat(finished("length")).as("no prompt ran to max_tokens").isEqualTo(lengthBefore);
            System.out.printf("300 prompts, stream=%s: engine idle %d ms after the client left%n",
                    stream, (System.nanoTime() - left) / 1_000_000);
        }
    }

    @Test
    void fiftyClientsThatLeaveWithinTwentyMillisecondsLeaveNothingRunning() throws Exception {
        Random random = new Random(16);
        double lengthBefore = finished("length");
        double abortedBefore = finished("abort");
        int stillRunning = 0;
        for (int i = 0; i < 50; i++) {
            boolean chat = random.nextBoolean();
            boolean stream = random.nextBoolean();
            String body = chat
                    ? """
                    {"model": "stories260K", "messages": [{"role": "user", "content": "Tell a story %d"}],
                     "max_tokens": 400, "ignore_eos": true, "stream": %s}""".formatted(i, stream)
                    : """
                    {"model": "stories260K", "prompt": "Once upon a time %d", "max_tokens": 400,
                     "ignore_eos": true, "stream": %s}""".formatted(i, stream);
            int delayMillis = random.nextInt(21);
            try (Socket s = send(chat ? "/v1/chat/completions" : "/v1/completions", body)) {
                if (delayMillis > 0) Thread.sleep(delayMillis);
            }
            if (!noRequestWithin(Duration.ofSeconds(1))) stillRunning++;
        }
        System.out.printf("50 clients leaving within 20 ms: %.0f requests reached the engine and were aborted, "
                + "%.0f ran to max_tokens, %d still running 1 s later%n",
                finished("abort") - abortedBefore, finished("length") - lengthBefore, stillRunning);
        assertThat(stillRunning).as("clients whose request was still running 1 s after they left").isZero();
        assertThat(finished("length")).as("requests that ran to max_tokens").isEqualTo(lengthBefore);
    }
}
