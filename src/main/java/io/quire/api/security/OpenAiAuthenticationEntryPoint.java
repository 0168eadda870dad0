package io.quire.api.security;

import io.quire.api.ErrorBodies;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.server.ServerAuthenticationEntryPoint;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Answers a request without a valid API key: 401 with OpenAI's error body (type
 * {@code AuthenticationError}, the OpenAI clients' name for a 401) and a {@code WWW-Authenticate:
 * Bearer} challenge, with RFC 6750's {@code error} when a key came but was malformed or wrong.
 */
final class OpenAiAuthenticationEntryPoint implements ServerAuthenticationEntryPoint {
    static final String MISSING = "Missing API key: send it as 'Authorization: Bearer <api key>'";

    private final JsonMapper json;

    OpenAiAuthenticationEntryPoint(JsonMapper json) {
        this.json = json;
    }

    @Override
    public Mono<Void> commence(ServerWebExchange exchange, AuthenticationException ex) {
        ServerHttpResponse response = exchange.getResponse();
        if (response.isCommitted()) return Mono.empty();
        String message = MISSING;
        String challenge = "Bearer";
        if (ex instanceof ApiKeyException k) {
            message = k.getMessage();
            challenge = "Bearer error=\"" + k.bearerError() + "\"";
        }
        response.setStatusCode(HttpStatus.UNAUTHORIZED);
        response.getHeaders().set(HttpHeaders.WWW_AUTHENTICATE, challenge);
        response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
        DataBuffer body = response.bufferFactory()
                .wrap(json.writeValueAsBytes(ErrorBodies.failure(HttpStatus.UNAUTHORIZED, message, null).body()));
        return response.writeWith(Mono.just(body));
    }
}
