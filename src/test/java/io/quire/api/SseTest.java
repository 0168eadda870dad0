package io.quire.api;

import io.quire.engine.InvalidRequestException;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.reactive.server.WebTestClient;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.web.reactive.function.server.RequestPredicates.GET;
import static org.springframework.web.reactive.function.server.RouterFunctions.route;

/** The event-stream framing, a failure after the stream has begun, and how the events are requested. */
class SseTest {
    private final JsonMapper json = JsonMapper.builder().build();

    private String body(Flux<String> events) {
        WebTestClient client = WebTestClient.bindToRouterFunction(route(GET("/s"), r -> Sse.respond(json, events)))
                .build();
        return client.get().uri("/s").exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith("text/event-stream")
                .expectBody(String.class).returnResult().getResponseBody();
    }

    @Test
    void eventsThenDone() {
        String chunk = Sse.event(json, Map.of("a", 1));
        assertThat(chunk).isEqualTo("data: {\"a\":1}\n\n");
        assertThat(body(Flux.just(chunk, chunk))).isEqualTo(chunk + chunk + "data: [DONE]\n\n");
    }

    @Test
    void anErrorAfterTheStreamBeganIsAnErrorEventThenDone() {
        String chunk = Sse.event(json, Map.of("a", 1));
        // A failure's class and message stay in the server log; the client gets an id to quote.
        assertThat(body(Flux.just(chunk).concatWith(Flux.error(new IllegalStateException("the model failed")))))
                .matches("\\Q" + chunk
                        + "\\Edata: \\{\"error\":\\{\"message\":\"Internal server error \\(error id [0-9a-f]+; "
                        + "the server log has the details\\)\",\"type\":\"InternalServerError\",\"param\":null,"
                        + "\"code\":500}}\n\ndata: \\[DONE]\n\n")
                .doesNotContain("IllegalStateException").doesNotContain("the model failed");
        assertThat(body(Flux.just(chunk).concatWith(Flux.error(new InvalidRequestException("stop", "bad stop")))))
                .isEqualTo(chunk
                        + "data: {\"error\":{\"message\":\"bad stop\",\"type\":\"BadRequestError\",\"param\":\"stop\","
                        + "\"code\":400}}\n\n"
                        + "data: [DONE]\n\n");
    }

    /**
     * A request's output is asked for once, all of it, so the concat that adds [DONE] never sees a
     * second request to race (Sse.write); a live feed is asked for at the reader's pace, so a reader
     * that stalls cannot make it pile up.
     */
    @Test
    void aRequestsOutputIsRequestedAllAtOnceAndALiveFeedAtTheReadersPace() {
        List<Long> requested = new CopyOnWriteArrayList<>();
        Flux<String> events = Flux.range(0, 1000).map(i -> "data: " + i + "\n\n").doOnRequest(requested::add);
        StepVerifier.create(Sse.requestOutput(json, events), 2).expectNextCount(2).thenCancel().verify();
        assertThat(requested).containsExactly(Long.MAX_VALUE);

        requested.clear();
        StepVerifier.create(Sse.withDone(json, events), 2).expectNextCount(2).thenCancel().verify();
        assertThat(requested).containsExactly(2L);
    }
}
