package io.quire.api.security;

import org.springframework.security.authentication.ReactiveAuthenticationManager;
import org.springframework.security.core.Authentication;
import reactor.core.publisher.Mono;

/** Accepts an {@link ApiKeyAuthentication} whose key is one of the configured {@link ApiKeys}. */
final class ApiKeyAuthenticationManager implements ReactiveAuthenticationManager {
    private final ApiKeys keys;

    ApiKeyAuthenticationManager(ApiKeys keys) {
        this.keys = keys;
    }

    @Override
    public Mono<Authentication> authenticate(Authentication authentication) {
        if (!(authentication instanceof ApiKeyAuthentication candidate)) return Mono.empty();
        int index = keys.match((String) candidate.getCredentials());
        return index > 0 ? Mono.just(ApiKeyAuthentication.verified(index)) : Mono.error(ApiKeyException.invalid());
    }
}
