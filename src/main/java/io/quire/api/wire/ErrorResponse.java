package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * OpenAI's error body, {@code {"error": {"message", "type", "param", "code"}}}, with vLLM's
 * conventions: {@code type} names the HTTP error ({@code BadRequestError}, {@code NotFoundError},
 * ...) and {@code code} is the HTTP status.
 */
public record ErrorResponse(Error error) {
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Error(String message, String type, String param, int code) {}
}
