package io.quire.api;

import io.quire.engine.GenerationService;
import org.springframework.web.reactive.function.server.ServerRequest;

import java.util.ArrayList;
import java.util.List;

/**
 * The engine requests one HTTP exchange started. When the exchange ends in any way (response
 * written, error, client gone at any moment), whatever of them still runs is aborted: a stream
 * that was never subscribed, prompts a merge had not reached yet, a submission that raced with
 * the disconnect. Registering after the end aborts at once, so nothing outlives its client.
 */
final class EngineRequestScope {
    static final String ATTRIBUTE = EngineRequestScope.class.getName();

    private final GenerationService engine;
    private final List<String> requestIds = new ArrayList<>();
    private boolean closed;

    EngineRequestScope(GenerationService engine) {
        this.engine = engine;
    }

    /** The exchange's scope, or a fresh one (closed by nobody) when no filter set one up. */
    static EngineRequestScope of(ServerRequest request, GenerationService engine) {
        EngineRequestScope scope = request.exchange().getAttribute(ATTRIBUTE);
        return scope != null ? scope : new EngineRequestScope(engine);
    }

    /** Ties these engine requests to the exchange (aborting them now if it already ended). */
    void register(List<String> ids) {
        synchronized (this) {
            if (!closed) {
                requestIds.addAll(ids);
                return;
            }
        }
        for (String id : ids) engine.abort(id);
    }

    /** The exchange ended: abort what is still active (a no-op for finished requests). */
    void close() {
        List<String> ids;
        synchronized (this) {
            if (closed) return;
            closed = true;
            ids = List.copyOf(requestIds);
            requestIds.clear();
        }
        for (String id : ids) engine.abort(id);
    }
}
