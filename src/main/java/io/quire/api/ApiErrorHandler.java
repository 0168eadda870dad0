package io.quire.api;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.http.codec.autoconfigure.HttpCodecsProperties;
import org.springframework.core.annotation.Order;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import org.springframework.util.unit.DataSize;
import org.springframework.web.util.DisconnectedClientHelper;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Answers every failure that reaches WebFlux (bad JSON, wrong Content-Type, unknown route, wrong
 * method, engine refusals) with OpenAI's JSON error body. Runs before Boot's own error handler
 * (order -1), so no HTML page or stack trace is ever sent.
 */
@Component
@Order(-2)
public class ApiErrorHandler implements WebExceptionHandler {
    private static final Logger log = LoggerFactory.getLogger(ApiErrorHandler.class);
    private final JsonMapper json;
    /** spring.http.codecs.max-in-memory-size: the largest body a handler reads, named in a 413. */
    private final DataSize bodyLimit;

    public ApiErrorHandler(JsonMapper json, ObjectProvider<HttpCodecsProperties> codecs) {
        this.json = json;
        HttpCodecsProperties properties = codecs.getIfAvailable();
        this.bodyLimit = properties == null ? null : properties.getMaxInMemorySize();
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
        ServerHttpResponse response = exchange.getResponse();
        if (NettyAnsweredResponse.answeredByNetty(response)) {
            // Reactor Netty already sent 400 for a body it could not decode (and logged it at WARN).
            log.debug("{}request already answered by the HTTP server: {}", exchange.getLogPrefix(), ex.toString());
            return Mono.empty();
        }
        if (DisconnectedClientHelper.isClientDisconnectedException(ex)) {
            // The client closed the connection (before sending its whole body, say): nobody to answer,
            // and no fault of the server, so no ERROR with a stack trace.
            log.debug("{}client went away: {}", exchange.getLogPrefix(), ex.toString());
            return Mono.empty();
        }
        if (response.isCommitted()) return Mono.error(ex);
        ErrorBodies.Failure failure = ErrorBodies.of(ex, bodyLimit);
        response.setStatusCode(failure.status());
        response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
        if (failure.retryAfterSeconds() > 0) {
            response.getHeaders().set(HttpHeaders.RETRY_AFTER, String.valueOf(failure.retryAfterSeconds()));
        }
        DataBuffer buffer = response.bufferFactory().wrap(json.writeValueAsBytes(failure.body()));
        return response.writeWith(Mono.just(buffer));
    }
}
