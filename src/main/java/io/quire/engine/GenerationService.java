package io.quire.engine;

import io.quire.model.tokenizer.Tokenizer;
import reactor.core.publisher.Flux;

/**
 * What the HTTP layer sees of the engine: submit a tokenized prompt, receive its outputs as a
 * stream. Cancelling the subscription aborts the request and frees its KV blocks.
 */
public interface GenerationService {

    /**
     * Queues a request. Validation errors ({@link InvalidRequestException}) are thrown at once,
     * before anything is queued; the returned Flux emits one {@link RequestOutput} per engine step
     * that produced something for the request, and completes after the finished one.
     */
    default Flux<RequestOutput> generate(String requestId, int[] promptTokenIds, SamplingParams params) {
        return generate(requestId, promptTokenIds, params, null);
    }

    /**
     * As {@link #generate(String, int[], SamplingParams)}, with prefix-cache hashes salted by
     * {@code cacheSalt} (null: none), so that only requests with the same salt share cached blocks.
     */
    Flux<RequestOutput> generate(String requestId, int[] promptTokenIds, SamplingParams params, String cacheSalt);

    Tokenizer tokenizer();

    /** The name clients use in {@code model}. */
    String modelName();

    /** Context length: prompt plus output tokens may not exceed it. */
    int maxModelLen();
}
