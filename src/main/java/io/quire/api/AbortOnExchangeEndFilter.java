package io.quire.api;

import io.quire.engine.GenerationService;
import org.springframework.core.Ordered;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Gives every exchange an {@link EngineRequestScope} and closes it when the exchange's processing
 * ends, however it ends: the filter chain's Mono completes after the response is written, errors
 * when writing fails, and is cancelled when the client disconnects, even before the handler has
 * returned or the response body was subscribed.
 */
@Component
public class AbortOnExchangeEndFilter implements WebFilter, Ordered {
    private final GenerationService engine;

    public AbortOnExchangeEndFilter(GenerationService engine) {
        this.engine = engine;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        EngineRequestScope scope = new EngineRequestScope(engine);
        exchange.getAttributes().put(EngineRequestScope.ATTRIBUTE, scope);
        return chain.filter(exchange).doFinally(signal -> scope.close());
    }

    /** Outermost of our filters, so that a refusal by any later one still closes the scope. */
    @Override
    public int getOrder() { return Ordered.HIGHEST_PRECEDENCE; }
}
