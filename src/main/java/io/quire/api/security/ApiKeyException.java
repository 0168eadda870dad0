package io.quire.api.security;

import org.springframework.security.core.AuthenticationException;

/**
 * A missing, malformed or wrong API key, with the RFC 6750 error code its
 * {@code WWW-Authenticate: Bearer} challenge carries ({@code null} when no credentials came).
 */
final class ApiKeyException extends AuthenticationException {
    private final String bearerError;

    ApiKeyException(String message, String bearerError) {
        super(message);
        this.bearerError = bearerError;
    }

    static ApiKeyException malformed() {
        return new ApiKeyException("Malformed Authorization header: expected 'Authorization: Bearer <api key>'",
                "invalid_request");
    }

    static ApiKeyException invalid() {
        return new ApiKeyException("Invalid API key", "invalid_token");
    }

    String bearerError() { return bearerError; }
}
