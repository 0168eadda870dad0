package io.quire.api.security;

import io.quire.api.ErrorBodies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.security.web.server.firewall.ServerExchangeRejectedException;
import org.springframework.security.web.server.firewall.ServerExchangeRejectedHandler;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Answers a request Spring Security's firewall refuses before any route sees it (an encoded slash
 * or dot segment, a NUL, a path that is not normalized: {@code /v1/models/..%2f..%2fetc}) with 400
 * and OpenAI's error body, where Spring's own handler sends an empty one. The firewall's reason
 * goes to the debug log only: it quotes Spring's rules, not what a client can act on.
 */
final class OpenAiExchangeRejectedHandler implements ServerExchangeRejectedHandler {
    static final String MESSAGE = "Bad request: the URL or a header holds a character or sequence that is not"
            + " allowed (such as an encoded slash, a '..' segment or a control character)";
    private static final Logger log = LoggerFactory.getLogger(OpenAiExchangeRejectedHandler.class);

    private final JsonMapper json;

    OpenAiExchangeRejectedHandler(JsonMapper json) {
        this.json = json;
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, ServerExchangeRejectedException ex) {
        log.debug("{}request rejected by the firewall: {}", exchange.getLogPrefix(), ex.getMessage());
        ServerHttpResponse response = exchange.getResponse();
        if (response.isCommitted()) return Mono.empty();
        response.setStatusCode(HttpStatus.BAD_REQUEST);
        response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
        DataBuffer body = response.bufferFactory()
                .wrap(json.writeValueAsBytes(ErrorBodies.failure(HttpStatus.BAD_REQUEST, MESSAGE, null).body()));
        return response.writeWith(Mono.just(body));
    }
}
