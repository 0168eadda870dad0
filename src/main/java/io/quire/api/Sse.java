package io.quire.api;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.reactive.function.BodyInserter;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;

/**
 * OpenAI's server-sent events: {@code data: {json}} per chunk, {@code data: [DONE]} last. An
 * error after the stream began can no longer change the status, so it is sent as a
 * {@code data: {"error": ...}} event before {@code [DONE]}. Each event is flushed as it is made.
 */
final class Sse {
    static final String DONE = "data: [DONE]\n\n";

    private Sse() {}

    static String event(JsonMapper json, Object chunk) {
        return "data: " + json.writeValueAsString(chunk) + "\n\n";
    }

    /**
     * A request's output, which ends: {@code [DONE]} and the in-stream error event added, requested
     * all at once and buffered here for a slow reader (the engine buffers a request's output
     * anyway). One request means the concat that adds {@code [DONE]} cannot lose it to the demand
     * race described at {@code write}, as it could once a slow reader had used up the write's
     * demand.
     */
    static Mono<ServerResponse> respond(JsonMapper json, Flux<String> events) {
        return write(requestOutput(json, events));
    }

    /**
     * As {@link #respond} without {@code [DONE]}, which the Responses API's streams do not send (they
     * end with their last event, or with an error event the caller added).
     */
    static Mono<ServerResponse> respondWithoutDone(Flux<String> events) {
        return write(events.onBackpressureBuffer());
    }

    /** What {@link #respond} writes: the events with {@code [DONE]}, asked for all at once. */
    static Flux<String> requestOutput(JsonMapper json, Flux<String> events) {
        return withDone(json, events).onBackpressureBuffer();
    }

    /**
     * A feed that runs until the client leaves ({@code /kv/stream}): taken at the connection's pace,
     * so a reader that stalls makes the feed skip ticks, never pile them up in memory.
     */
    static Mono<ServerResponse> respondLive(JsonMapper json, Flux<String> events) {
        return write(withDone(json, events));
    }

    static Flux<String> withDone(JsonMapper json, Flux<String> events) {
        return events
                .concatWithValues(DONE)
                .onErrorResume(e -> Flux.just(event(json, ErrorBodies.of(e).body()), DONE));
    }

    /**
     * Writes the events as they come with a plain {@code writeWith}: Reactor Netty flushes whenever
     * its write queue runs empty, so each event still leaves as it is made. Not
     * {@code writeAndFlushWith}, which sends each event as its own group (the buffer, then a flush
     * marker: a new FluxConcatArray per event, starting at zero demand). Reactor Core's concat
     * compares demand values only, so a request that read that zero and the buffer's subscription,
     * then lost the CPU while the event loop requested one item, took it and moved on to the marker,
     * still succeeded on the same zero and asked the finished buffer: the marker was never
     * requested, the write never completed, and the response never got its terminating chunk
     * (src/bench/stream-ends.sh; the race alone: src/bench/concat-race.sh).
     */
    private static Mono<ServerResponse> write(Flux<String> complete) {
        BodyInserter<Flux<String>, ServerHttpResponse> inserter = new BodyInserter<>() {
            @Override
            public Mono<Void> insert(ServerHttpResponse response, Context context) {
                Flux<DataBuffer> buffers = complete.map(s -> response.bufferFactory()
                        .wrap(s.getBytes(StandardCharsets.UTF_8)));
                return response.writeWith(buffers);
            }
        };
        return ServerResponse.ok()
                .contentType(MediaType.TEXT_EVENT_STREAM)
                .header("Cache-Control", "no-cache")
                .header("X-Accel-Buffering", "no")
                .body(inserter);
    }
}
