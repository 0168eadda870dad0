package io.quire.api.security;

import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.server.ServerAuthenticationEntryPoint;
import org.springframework.security.web.server.WebFilterExchange;
import org.springframework.security.web.server.authentication.ServerAuthenticationFailureHandler;
import org.springframework.security.web.server.util.matcher.ServerWebExchangeMatcher;
import reactor.core.publisher.Mono;

/**
 * A bad key on an open route (health, version, Prometheus) is ignored and the request goes on
 * anonymously, so a prober or scraper that sends some unrelated token still gets its answer;
 * anywhere else it is a 401.
 */
final class OpenRoutesFailureHandler implements ServerAuthenticationFailureHandler {
    private final ServerWebExchangeMatcher openRoutes;
    private final ServerAuthenticationEntryPoint entryPoint;

    OpenRoutesFailureHandler(ServerWebExchangeMatcher openRoutes, ServerAuthenticationEntryPoint entryPoint) {
        this.openRoutes = openRoutes;
        this.entryPoint = entryPoint;
    }

    @Override
    public Mono<Void> onAuthenticationFailure(WebFilterExchange exchange, AuthenticationException exception) {
        return openRoutes.matches(exchange.getExchange()).flatMap(m -> m.isMatch()
                ? exchange.getChain().filter(exchange.getExchange())
                : entryPoint.commence(exchange.getExchange(), exception));
    }
}
