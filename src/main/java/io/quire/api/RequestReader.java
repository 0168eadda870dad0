package io.quire.api;

import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads a request body into its record strictly. The body is first parsed as a JSON tree by
 * WebFlux's codec (Content-Type, size and nesting limits, malformed JSON as before), then
 * unimplemented fields are refused by name ({@link UnsupportedFields}) and the tree is bound with
 * {@link StrictJsonMapper}, whose failures become 400s naming the field ({@link BindingErrors}).
 * Binding here rather than in the codec keeps Boot's mapper, and so Actuator, as it is.
 */
@Component
public class RequestReader {
    private final JsonMapper strict;

    public RequestReader(JsonMapper json) {
        this.strict = StrictJsonMapper.from(json);
    }

    /** The bound body, on a worker thread: binding and what the handler does next stay off the event loop. */
    public <T> Mono<T> read(ServerRequest request, Class<T> type, UnsupportedFields unsupported) {
        return request.bodyToMono(JsonNode.class)
                .switchIfEmpty(Mono.error(() -> ApiException.badRequest(null, "a JSON request body is required")))
                .publishOn(Schedulers.boundedElastic())
                .map(body -> bind(body, type, unsupported));
    }

    <T> T bind(JsonNode body, Class<T> type, UnsupportedFields unsupported) {
        if (!body.isObject()) {
            throw ApiException.badRequest(null,
                    "The request body must be a JSON object, but got " + BindingErrors.kind(body) + ".");
        }
        unsupported.check(body);
        try {
            return strict.treeToValue(body, type);
        } catch (JacksonException e) {
            throw BindingErrors.of(e, body);
        }
    }
}
