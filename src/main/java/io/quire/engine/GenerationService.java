package io.quire.engine;

import io.quire.model.LoraAdapter;
import io.quire.model.tokenizer.Tokenizer;
import reactor.core.publisher.Flux;

import java.util.List;

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
    default Flux<RequestOutput> generate(String requestId, int[] promptTokenIds, SamplingParams params,
                                         String cacheSalt) {
        return generate(List.of(requestId), List.of(promptTokenIds), params, cacheSalt).getFirst();
    }

    /**
     * Queues one client request's prompts (several for a batched completion), all or none: every
     * prompt is validated first, then the whole submission is queued if the waiting queue has room.
     *
     * @throws InvalidRequestException    a prompt or parameter is invalid, or the submission could never fit
     * @throws EngineOverloadedException  the waiting queue is full now (nothing was queued)
     * @throws EngineStoppedException     the engine is shutting down
     */
    default List<Flux<RequestOutput>> generate(List<String> requestIds, List<int[]> prompts, SamplingParams params,
                                               String cacheSalt) {
        return generate(requestIds, prompts, params, cacheSalt, 0);
    }

    /**
     * As above, with the requests' {@code priority} (lower served first), which must be 0 unless the engine
     * schedules by priority ({@link SchedulingPolicy#PRIORITY}; vLLM's {@code priority}).
     */
    default List<Flux<RequestOutput>> generate(List<String> requestIds, List<int[]> prompts, SamplingParams params,
                                               String cacheSalt, int priority) {
        return generate(requestIds, prompts, params, cacheSalt, priority, null);
    }

    /**
     * As above, the prompts run with the LoRA adapter named {@code adapter} (one of {@link #adapters};
     * null: the base model). Prefix-cached blocks are shared only between requests of the same adapter.
     */
    List<Flux<RequestOutput>> generate(List<String> requestIds, List<int[]> prompts, SamplingParams params,
                                       String cacheSalt, int priority, String adapter);

    /** The LoRA adapters clients may name in {@code model} besides the base model (vLLM's {@code --lora-modules}). */
    default List<LoraAdapter> adapters() { return List.of(); }

    /**
     * Queues one client request's inputs for embeddings (vLLM's pooling with the last token), all or
     * none: each Flux ends with an output whose {@link RequestOutput#embedding} is its prompt's last
     * final hidden state, not normalized. Aborting and errors are as for {@link #generate}.
     *
     * @throws InvalidRequestException    an input is invalid, longer than the context, or the device
     *                                    cannot give hidden states
     * @throws EngineOverloadedException  the waiting queue is full now (nothing was queued)
     * @throws EngineStoppedException     the engine is shutting down
     */
    default List<Flux<RequestOutput>> embed(List<String> requestIds, List<int[]> prompts, String cacheSalt,
                                            int priority) {
        return embed(requestIds, prompts, cacheSalt, priority, null);
    }

    /** As above, with the LoRA adapter named {@code adapter} (null: the base model). */
    default List<Flux<RequestOutput>> embed(List<String> requestIds, List<int[]> prompts, String cacheSalt,
                                            int priority, String adapter) {
        throw new InvalidRequestException("input", "This server does not compute embeddings.");
    }

    /**
     * Aborts a request, whatever its state (queued, prefilling, decoding): within one engine step its
     * blocks are freed and its Flux ends with an ABORT output. False when it is not active (done,
     * or never submitted).
     */
    boolean abort(String requestId);

    Tokenizer tokenizer();

    /** The name clients use in {@code model}. */
    String modelName();

    /** Context length: prompt plus output tokens may not exceed it. */
    int maxModelLen();

    /**
     * The sampling parameters a request starts from: {@link SamplingParams#defaults}, with the
     * model's own defaults (generation_config.json) where it has them. Request fields override both.
     */
    default SamplingParams defaultParams(Integer maxTokens) { return SamplingParams.defaults(maxTokens); }
}
