package io.quire;

import io.quire.engine.GenerationService;
import io.quire.engine.RequestOutput;
import io.quire.engine.SamplingParams;
import io.quire.model.tokenizer.Tokenizer;
import reactor.core.publisher.Flux;

/** The engine under the name clients use ({@code quire.served-model-name}). */
record RenamedGenerationService(GenerationService engine, String modelName) implements GenerationService {
    @Override
    public Flux<RequestOutput> generate(String requestId, int[] promptTokenIds, SamplingParams params) {
        return engine.generate(requestId, promptTokenIds, params);
    }

    @Override
    public Tokenizer tokenizer() { return engine.tokenizer(); }

    @Override
    public int maxModelLen() { return engine.maxModelLen(); }
}
