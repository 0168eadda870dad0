package io.quire;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import reactor.core.publisher.Mono;

import java.util.concurrent.atomic.AtomicBoolean;

/** What {@link WarmupGate} lets through while the server warms its web path up, and after. */
class WarmupGateTest {

    /** Runs the exchange through the gate; true when the gate passed it on to the rest of the chain. */
    private static boolean passes(WarmupGate gate, MockServerWebExchange exchange) {
        AtomicBoolean passed = new AtomicBoolean();
        gate.filter(exchange, e -> {
            passed.set(true);
            return Mono.empty();
        }).block();
        return passed.get();
    }

    @Test
    void aClosedGateAnswersApiRequestsWith503InOpenAisShape() {
        WarmupGate gate = new WarmupGate(true);
        var exchange = MockServerWebExchange.from(MockServerHttpRequest.post("/v1/chat/completions").body("{}"));
        assertThat(passes(gate, exchange)).isFalse();
        assertThat(exchange.getResponse().getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
        assertThat(exchange.getResponse().getHeaders().getFirst("Retry-After")).isEqualTo("1");
        assertThat(exchange.getResponse().getBodyAsString().block())
                .contains("\"type\":\"ServiceUnavailableError\"", "\"code\":503", "warming up");
    }

    @Test
    void healthSaysLoadingAndTheActuatorAndThePlaygroundPass() {
        WarmupGate gate = new WarmupGate(true);
        var health = MockServerWebExchange.from(MockServerHttpRequest.get("/health"));
        assertThat(passes(gate, health)).isFalse();
        assertThat(health.getResponse().getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
        assertThat(health.getResponse().getBodyAsString().block()).contains("\"status\":\"loading\"");
        assertThat(passes(gate, MockServerWebExchange.from(MockServerHttpRequest.get("/actuator/health/liveness"))))
                .isTrue();
        assertThat(passes(gate, MockServerWebExchange.from(MockServerHttpRequest.get("/")))).isTrue();
        assertThat(passes(gate, MockServerWebExchange.from(MockServerHttpRequest.get("/playground/app.js")))).isTrue();
        assertThat(passes(gate, MockServerWebExchange.from(MockServerHttpRequest.post("/playground/app.js")))).isFalse();
    }

    @Test
    void onlyThisProcesssTokenPassesWhileClosed() {
        WarmupGate gate = new WarmupGate(true);
        var own = MockServerHttpRequest.post("/v1/completions").header(WarmupGate.HEADER, gate.token()).body("{}");
        assertThat(passes(gate, MockServerWebExchange.from(own))).isTrue();
        assertThat(gate.isWarmup(own)).isTrue();
        var guessed = MockServerHttpRequest.post("/v1/completions")
                .header(WarmupGate.HEADER, new WarmupGate(true).token()).body("{}");
        assertThat(passes(gate, MockServerWebExchange.from(guessed))).isFalse();
        assertThat(gate.isWarmup(guessed)).isFalse();
        assertThat(gate.isWarmup(MockServerHttpRequest.post("/v1/completions").body("{}"))).isFalse();
        assertThat(gate.token()).hasSize(32);
    }

    @Test
    void anOpenGatePassesEverything() {
        WarmupGate gate = new WarmupGate(true);
        gate.open();
        assertThat(passes(gate, MockServerWebExchange.from(MockServerHttpRequest.post("/v1/completions").body("{}"))))
                .isTrue();
        WarmupGate never = new WarmupGate(false);
        assertThat(never.isOpen()).isTrue();
        assertThat(passes(never, MockServerWebExchange.from(MockServerHttpRequest.get("/health")))).isTrue();
    }
}
