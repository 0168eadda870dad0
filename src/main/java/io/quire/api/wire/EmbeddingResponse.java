package io.quire.api.wire;

import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/**
 * The answer of {@code POST /v1/embeddings}, as OpenAI's and vLLM's: {@code object} "list", one
 * {@link Embedding} per input in input order, usage counting the inputs' tokens (no completion tokens).
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record EmbeddingResponse(String id, String object, long created, String model, List<Embedding> data,
                                Usage usage) {

    /** One input's vector: {@code embedding} a float array, or its bytes in base64 when asked for. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Embedding(int index, String object, Object embedding) {
        public Embedding(int index, Object embedding) {
            this(index, "embedding", embedding);
        }
    }

    public EmbeddingResponse(String id, long created, String model, List<Embedding> data, int promptTokens) {
        this(id, "list", created, model, data, Usage.of(promptTokens, 0));
    }
}
