package io.quire.api.security;

import org.springframework.http.HttpHeaders;
import org.springframework.security.core.Authentication;
import org.springframework.security.web.server.authentication.ServerAuthenticationConverter;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

import java.util.List;

/**
 * Reads {@code Authorization: Bearer <key>} (the scheme case-insensitively, as RFC 7235 says).
 * No header: no credentials, so the request stays anonymous; any other header, or more than one,
 * is refused as malformed rather than ignored.
 */
final class BearerKeyConverter implements ServerAuthenticationConverter {
    private static final String SCHEME = "Bearer ";

    @Override
    public Mono<Authentication> convert(ServerWebExchange exchange) {
        List<String> values = exchange.getRequest().getHeaders().getOrEmpty(HttpHeaders.AUTHORIZATION);
        if (values.isEmpty()) return Mono.empty();
        String value = values.getFirst();
        if (values.size() > 1 || value.length() <= SCHEME.length()
                || !value.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
            return Mono.error(ApiKeyException.malformed());
        }
        String key = value.substring(SCHEME.length()).strip();
        if (key.isEmpty() || key.chars().anyMatch(Character::isWhitespace))
            return Mono.error(ApiKeyException.malformed());
        return Mono.just(ApiKeyAuthentication.unverified(key));
    }
}
