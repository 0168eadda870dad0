package io.quire.api;

import io.quire.engine.EngineStoppedException;
import io.quire.engine.FinishReason;
import io.quire.engine.GenerationService;
import io.quire.engine.RequestOutput;
import org.springframework.web.reactive.function.server.ServerRequest;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import java.util.ArrayList;
import java.util.List;

/**
 * Prompts through the engine as embedding requests, for {@code /v1/embeddings}, {@code /score} and
 * {@code /rerank}: each gets its last token's final hidden state ({@link GenerationService#embed}),
 * all queued or none, aborted when the client leaves, and the vectors handled off the engine thread.
 */
final class PromptEmbeddings {
    private PromptEmbeddings() {}

    /**
     * The raw vectors of {@code prompts}, in their order, with LoRA adapter {@code adapter} (null: none);
     * request ids {@code id}, or {@code id-i} for several.
     */
    static Mono<List<float[]>> of(ServerRequest request, GenerationService engine, String id, List<int[]> prompts,
            String cacheSalt, int priority, String adapter) {
        List<String> ids = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) ids.add(prompts.size() == 1 ? id : id + "-" + i);
        List<Flux<RequestOutput>> submitted = engine.embed(ids, prompts, cacheSalt, priority, adapter);
        EngineRequestScope.of(request, engine).register(ids);
        List<Mono<float[]>> each = new ArrayList<>(submitted.size());
        for (int i = 0; i < submitted.size(); i++) {
            String requestId = ids.get(i);
            each.add(submitted.get(i).publishOn(Schedulers.parallel()).last().map(out -> {
                if (out.embedding() != null) return out.embedding();
                // aborted: the client left (nobody reads this) or the server is stopping (a 503, as for text)
                if (!out.deltas().isEmpty() && out.deltas().getFirst().finishReason() == FinishReason.ABORT) {
                    throw new EngineStoppedException();
                }
                throw new IllegalStateException("request " + requestId + " ended without its embedding");
            }));
        }
        return Flux.mergeSequential(each).collectList();
    }

    /** {@code v} scaled to unit length (in double), as vLLM's pooler normalizes; a zero vector stays zero. */
    static float[] normalized(float[] v) {
        double sum = 0;
        for (float f : v) sum += (double) f * f;
        double norm = Math.max(Math.sqrt(sum), 1e-12);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) (v[i] / norm);
        return out;
    }

    /** The cosine similarity of two vectors (in double), as vLLM scores with an embedding model; 0 for a zero one. */
    static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), 1e-12);
    }
}
