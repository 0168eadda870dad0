package io.quire.api;

import io.quire.api.security.ApiKeyAuthentication;
import io.quire.api.wire.KvReportResponse;
import io.quire.kv.KvMemoryReport;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code GET /kv/report[?detail=false]}: the engine's KV memory report as JSON. The engine builds
 * the report on its own thread at a step boundary when asked (at most one step away); the handler
 * waits for it off the event loop, and a step never waits for the handler. Request and sequence
 * ids are other clients' business: only a caller who presented an API key sees them; anyone else
 * (every caller when no key is configured) gets {@link RequestIdAliases} in their place.
 */
@Component
public class KvReportHandler {
    private final KvReportSource source;

    public KvReportHandler(KvReportSource source) {
        this.source = source;
    }

    public Mono<ServerResponse> report(ServerRequest request) {
        boolean detail = !"false".equalsIgnoreCase(request.queryParam("detail").orElse("true"));
        // Building the report may wait for the step in flight: not on the event loop.
        Mono<KvMemoryReport> report = Mono.fromCallable(source.latest()::get).subscribeOn(Schedulers.boundedElastic());
        Mono<Boolean> keyHolder = request.principal().map(ApiKeyAuthentication::isKeyHolder).defaultIfEmpty(false);
        return report.zipWith(keyHolder).flatMap(t -> {
            KvReportResponse body = toWire(source.modelName(), source.allocationPolicy(), t.getT1(), detail,
                    t.getT2());
            return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body);
        });
    }

    /** The report on the wire; {@code showIds} false puts per-report aliases in place of request and sequence ids. */
    static KvReportResponse toWire(String model, String policy, KvMemoryReport r, boolean detail, boolean showIds) {
        KvReportResponse.Totals totals = totals(r);
        List<KvReportResponse.Sequence> seqs = null;
        List<KvReportResponse.Block> blocks = null;
        if (detail) {
            RequestIdAliases aliases = showIds ? null : new RequestIdAliases();
            seqs = new ArrayList<>(r.sequences().size());
            for (KvMemoryReport.SequenceInfo s : r.sequences()) {
                seqs.add(new KvReportResponse.Sequence(showIds ? s.sequenceId() : aliases.sequence(s.sequenceId()),
                        showIds ? s.owner() : aliases.request(s.owner()), s.numTokens(), s.blockIds()));
            }
            blocks = new ArrayList<>(r.blocks().size());
            for (KvMemoryReport.BlockInfo b : r.blocks()) {
                List<String> owners = showIds || b.owners() == null ? b.owners()
                        : b.owners().stream().map(aliases::request).toList();
                blocks.add(new KvReportResponse.Block(b.blockId(), b.refCount(), b.tokens(), b.fill(r.blockSize()),
                        owners));
            }
        }
        var w = r.window();
        var window = w == null ? null : new KvReportResponse.SlidingWindow(w.window(), w.slidingLayers(),
                w.numLayers(), w.blocksFreed(), w.slotsOutOfWindow(), w.bytesOutOfWindow());
        return new KvReportResponse(model, r.step(), policy, r.blockSize(), r.bytesPerBlock(), totals, seqs, blocks,
                window);
    }

    /** The report's counts, bytes and fractions on the wire. */
    static KvReportResponse.Totals totals(KvMemoryReport r) {
        return new KvReportResponse.Totals(
                r.numTotalBlocks(), r.blocksUsed(), r.blocksFree(), r.blocksShared(),
                r.blocksCached(), r.blocksReferenced(), r.blocksUnattributed(), r.sharingSavedBlocks(),
                r.slotsAllocated(), r.tokensStored(), r.slotsWasted(), r.slotsReserved(),
                r.totalBytes(), r.usedBytes(), r.tokensStoredBytes(), r.wastedBytes(), r.reservedBytes(),
                r.sharingSavedBytes(),
                r.usage(), r.utilization(), r.wastedFraction(), r.reservedFraction(), r.sharingSavedFraction(),
                r.swapBlocksTotal(), r.swapBlocksUsed(), r.sequencesSwapped());
    }
}
