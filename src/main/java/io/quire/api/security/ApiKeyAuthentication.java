package io.quire.api.security;

import org.springframework.security.authentication.AbstractAuthenticationToken;
import org.springframework.security.core.authority.AuthorityUtils;

import java.security.Principal;

/**
 * A bearer API key: unverified as the converter reads it from the request, verified (holding only
 * which configured key matched, never the key itself) once {@link ApiKeyAuthenticationManager}
 * accepted it.
 */
public final class ApiKeyAuthentication extends AbstractAuthenticationToken {
    private final String key;
    private final String name;

    private ApiKeyAuthentication(String key, String name, boolean verified) {
        super(AuthorityUtils.NO_AUTHORITIES);
        this.key = key;
        this.name = name;
        setAuthenticated(verified);
    }

    static ApiKeyAuthentication unverified(String key) {
        return new ApiKeyAuthentication(key, "api-key", false);
    }

    /** The holder of configured key number {@code index} (1-based, in configuration order). */
    static ApiKeyAuthentication verified(int index) {
        return new ApiKeyAuthentication(null, "api-key-" + index, true);
    }

    /** Whether {@code principal} (a request's, possibly null) proved it holds a configured API key. */
    public static boolean isKeyHolder(Principal principal) {
        return principal instanceof ApiKeyAuthentication a && a.isAuthenticated();
    }

    @Override
    public Object getCredentials() { return key; }

    @Override
    public Object getPrincipal() { return name; }

    @Override
    public String getName() { return name; }
}
