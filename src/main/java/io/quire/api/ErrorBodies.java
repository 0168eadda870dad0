package io.quire.api;

import io.quire.api.template.ChatTemplateException;
import io.quire.api.wire.ErrorResponse;
import io.quire.engine.EngineOverloadedException;
import io.quire.engine.EngineStoppedException;
import io.quire.engine.InvalidRequestException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.codec.CodecException;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.util.unit.DataSize;
import org.springframework.web.server.MethodNotAllowedException;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebInputException;
import org.springframework.web.server.UnsupportedMediaTypeStatusException;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.StreamConstraintsException;
import tools.jackson.core.exc.StreamReadException;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns any failure into an HTTP status and OpenAI's error body. Messages are written for the
 * client; stack traces only go to the log (for unexpected errors).
 */
public final class ErrorBodies {
    private static final Logger log = LoggerFactory.getLogger(ErrorBodies.class);

    /** A status with its body, and for a 429 the seconds to send as {@code Retry-After} (else 0). */
    public record Failure(HttpStatus status, ErrorResponse body, int retryAfterSeconds) {
        public Failure(HttpStatus status, ErrorResponse body) {
            this(status, body, 0);
        }
    }

    private ErrorBodies() {}

    public static Failure of(Throwable t) {
        return of(t, null);
    }

    /** {@code bodyLimit}: the largest request body the codecs buffer, for a 413's message (null: unknown). */
    public static Failure of(Throwable t, DataSize bodyLimit) {
        return switch (t) {
            case ApiException e -> failure(e.status(), e.getMessage(), e.param());
            case InvalidRequestException e -> failure(HttpStatus.BAD_REQUEST, e.getMessage(), e.param());
            case EngineOverloadedException e -> new Failure(HttpStatus.TOO_MANY_REQUESTS,
                    failure(HttpStatus.TOO_MANY_REQUESTS, e.getMessage(), null).body(), e.retryAfterSeconds());
            case EngineStoppedException e -> failure(HttpStatus.SERVICE_UNAVAILABLE, e.getMessage(), null);
            case ChatTemplateException e -> failure(HttpStatus.BAD_REQUEST, "chat template: " + e.getMessage(),
                    "messages");
            case UnsupportedMediaTypeStatusException e -> failure(HttpStatus.UNSUPPORTED_MEDIA_TYPE,
                    "Unsupported Content-Type "
                    + (e.getContentType() == null ? "(none)" : "'" + e.getContentType() + "'")
                            + ": send a JSON body with Content-Type: application/json", null);
            case MethodNotAllowedException e -> failure(HttpStatus.METHOD_NOT_ALLOWED,
                    "Method " + e.getHttpMethod() + " is not allowed here; allowed: " + e.getSupportedMethods(), null);
            // Spring's own text names its buffer and setting: the client learns only the limit.
            case DataBufferLimitException e -> failure(HttpStatus.CONTENT_TOO_LARGE, bodyLimit == null
                    ? "Request body too large" : "Request body exceeds the limit of " + size(bodyLimit), null);
            case ServerWebInputException e when e.getCause() instanceof DataBufferLimitException limit ->
                    of(limit, bodyLimit);
            case ServerWebInputException e -> badInput(e);
            case ResponseStatusException e -> {
                HttpStatus status = resolve(e.getStatusCode());
                yield failure(status, status == HttpStatus.NOT_FOUND ? "Not found: no such route"
                        : nonNull(e.getReason(), status.getReasonPhrase()), null);
            }
            default -> {
                // The client learns only an id to quote: exception names and messages stay in the log.
                String errorId = Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);
                log.error("request failed (error id {})", errorId, t);
                yield failure(HttpStatus.INTERNAL_SERVER_ERROR,
                        "Internal server error (error id " + errorId + "; the server log has the details)", null);
            }
        };
    }

    /** Malformed JSON, a body over a parser limit, a missing body. */
    private static Failure badInput(ServerWebInputException e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof JacksonException j) return badJson(j);
        }
        String reason = e.getReason();
        if (e.getCause() instanceof CodecException ce && ce.getMessage() != null) reason = ce.getMessage();
        return failure(HttpStatus.BAD_REQUEST, JsonTypes.scrub(nonNull(reason, "Invalid request body")), null);
    }

    /**
     * The body is not well-formed JSON or passes a parser limit. Binding it to a request's fields
     * happens later, in {@link RequestReader}, whose failures {@link BindingErrors} words; Jackson's
     * own texts here can still name Java settings, so they are scrubbed.
     */
    private static Failure badJson(JacksonException j) {
        String message = switch (j) {
            case StreamReadException r -> "Malformed JSON request body: "
                    + JsonTypes.scrub(firstLine(r.getOriginalMessage()));
            case StreamConstraintsException c -> "Request body exceeds a JSON limit: "
                    + JsonTypes.scrub(firstLine(c.getOriginalMessage()));
            default -> "Invalid JSON request body";
        };
        return failure(HttpStatus.BAD_REQUEST, message, null);
    }

    /** {@code 32 MiB}, {@code 256 KiB}, {@code 1000 bytes}. */
    static String size(DataSize size) {
        long bytes = size.toBytes();
        if (bytes > 0 && bytes % (1 << 20) == 0) return (bytes >> 20) + " MiB";
        if (bytes > 0 && bytes % (1 << 10) == 0) return (bytes >> 10) + " KiB";
        return bytes + " bytes";
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static String nonNull(String s, String fallback) { return s == null || s.isBlank() ? fallback : s; }

    private static HttpStatus resolve(HttpStatusCode code) {
        HttpStatus s = HttpStatus.resolve(code.value());
        return s == null ? HttpStatus.INTERNAL_SERVER_ERROR : s;
    }

    public static Failure failure(HttpStatus status, String message, String param) {
        return new Failure(status,
                new ErrorResponse(new ErrorResponse.Error(message, type(status), param, status.value())));
    }

    /** vLLM's error type names (for 401 and 403, the OpenAI clients' exception names, as vLLM's other types are). */
    static String type(HttpStatus status) {
        return switch (status) {
            case BAD_REQUEST -> "BadRequestError";
            case UNAUTHORIZED -> "AuthenticationError";
            case FORBIDDEN -> "PermissionDeniedError";
            case NOT_FOUND -> "NotFoundError";
            case METHOD_NOT_ALLOWED -> "MethodNotAllowedError";
            case UNSUPPORTED_MEDIA_TYPE -> "UnsupportedMediaTypeError";
            case CONTENT_TOO_LARGE -> "RequestTooLargeError";
            case TOO_MANY_REQUESTS -> "RateLimitError";
            case SERVICE_UNAVAILABLE -> "ServiceUnavailableError";
            case INTERNAL_SERVER_ERROR -> "InternalServerError";
            default -> status.is4xxClientError() ? "BadRequestError" : "InternalServerError";
        };
    }
}
