package io.quire.api;

import org.reactivestreams.Publisher;
import org.springframework.core.Ordered;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Gives OpenAI's error body to an error status a handler answers without one: Actuator's
 * endpoints return a bare 404 for a name they do not know ({@code /actuator/metrics/nope}), which
 * is no exception, so {@link ApiErrorHandler} never sees it. A HEAD request's answer stays bodiless.
 */
@Component
public class EmptyErrorBodyFilter implements WebFilter, Ordered {
    private final JsonMapper json;

    public EmptyErrorBodyFilter(JsonMapper json) {
        this.json = json;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        if (HttpMethod.HEAD.equals(exchange.getRequest().getMethod())) return chain.filter(exchange);
        return chain.filter(exchange.mutate().response(new Decorated(exchange.getResponse())).build());
    }

    /** Inside {@link AbortOnExchangeEndFilter}, outside everything else. */
    @Override
    public int getOrder() { return Ordered.HIGHEST_PRECEDENCE + 1; }

    private final class Decorated extends ServerHttpResponseDecorator {
        private boolean written;

        Decorated(ServerHttpResponse delegate) {
            super(delegate);
        }

        @Override
        public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
            written = true;
            return super.writeWith(body);
        }

        @Override
        public Mono<Void> writeAndFlushWith(Publisher<? extends Publisher<? extends DataBuffer>> body) {
            written = true;
            return super.writeAndFlushWith(body);
        }

        /** Completing without a body: where an error status gets its JSON. */
        @Override
        public Mono<Void> setComplete() {
            HttpStatusCode status = getStatusCode();
            if (written || isCommitted() || status == null || !status.isError()) return super.setComplete();
            byte[] body = json.writeValueAsBytes(ErrorBodies.of(new ResponseStatusException(status)).body());
            getHeaders().setContentType(MediaType.APPLICATION_JSON);
            getHeaders().setContentLength(body.length);
            return writeWith(Mono.just(bufferFactory().wrap(body)));
        }
    }
}
