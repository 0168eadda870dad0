package io.quire.api;

import io.quire.api.security.ApiKeyAuthentication;
import io.quire.api.wire.KvReportResponse;
import io.quire.api.wire.KvSnapshot;
import io.quire.engine.EngineStats;
import io.quire.kv.KvMemoryReport;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.json.JsonMapper;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code GET /kv/stream}: the KV block pool as server-sent events, one {@link KvSnapshot} whenever it
 * changed, at most ten a second, for the playground's block map. Nothing runs in the engine for it
 * but the report it builds on demand at a step boundary ({@code GET /kv/report}'s path): each tick
 * asks for the latest report, which costs nothing while the engine idles, and a closed connection
 * ends the ticks. Request ids follow {@code /kv/report}'s rule: key holders see them, anyone else
 * sees aliases, kept for the connection's life so that a hovered block keeps its owner's name.
 */
@Component
public class KvStreamHandler {
    static final Duration INTERVAL = Duration.ofMillis(100);
    private static final Duration KEEP_ALIVE = Duration.ofSeconds(15);
    private static final int MAX_ALIASES = 10_000;

    private final KvReportSource source;
    private final JsonMapper json;

    public KvStreamHandler(KvReportSource source, JsonMapper json) {
        this.source = source;
        this.json = json;
    }

    public Mono<ServerResponse> stream(ServerRequest request) {
        return request.principal().map(ApiKeyAuthentication::isKeyHolder).defaultIfEmpty(false)
                .flatMap(showIds -> Sse.respondLive(json, events(showIds)));
    }

    private Flux<String> events(boolean showIds) {
        RequestIdAliases[] aliases = {new RequestIdAliases()};
        Flux<String> snapshots = Flux.interval(Duration.ZERO, INTERVAL)
                .onBackpressureDrop()
                // Waiting for a step boundary blocks: not on the event loop, one tick at a time.
                .concatMap(tick -> Mono.fromCallable(source.latest()::get).subscribeOn(Schedulers.boundedElastic()), 1)
                .distinctUntilChanged(r -> r, (a, b) -> a == b)  // the same report object: nothing changed
                .map(r -> {
                    if (aliases[0].size() > MAX_ALIASES) aliases[0] = new RequestIdAliases();
                    return Sse.event(json, toWire(source.modelName(), r, source.stats().get(),
                            showIds ? null : aliases[0]));
                });
        // A comment now and then: a client that went away is noticed even while nothing changes.
        Flux<String> keepAlive = Flux.interval(KEEP_ALIVE, KEEP_ALIVE).map(t -> ": keep-alive\n\n");
        return Flux.merge(snapshots, keepAlive);
    }

    /** The snapshot on the wire; {@code aliases} null shows the real request ids. */
    static KvSnapshot toWire(String model, KvMemoryReport r, EngineStats stats, RequestIdAliases aliases) {
        KvReportResponse.Totals totals = KvReportHandler.totals(r);
        char[] states = new char[r.numTotalBlocks()];
        for (int id = 0; id < states.length; id++) states[id] = r.isHashed(id) ? 'c' : 'f';
        List<KvSnapshot.Block> blocks = new ArrayList<>(r.blocks().size());
        for (KvMemoryReport.BlockInfo b : r.blocks()) {
            states[b.blockId()] = 'u';
            List<String> owners = aliases == null || b.owners() == null ? b.owners()
                    : b.owners().stream().map(aliases::request).toList();
            blocks.add(new KvSnapshot.Block(b.blockId(), b.refCount(), b.tokens(), r.isHashed(b.blockId()), owners));
        }
        return new KvSnapshot(model, r.step(), r.blockSize(), stats.running(), stats.waiting(), stats.numPreemptions(),
                totals, runLengths(states), blocks);
    }

    /** {@code uuufff} as {@code u3f3}: a pool is mostly long runs of one state. */
    static String runLengths(char[] states) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < states.length; ) {
            int j = i;
            while (j < states.length && states[j] == states[i]) j++;
            out.append(states[i]).append(j - i);
            i = j;
        }
        return out.toString();
    }
}
