package io.quire.api.wire;

import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/** The answer of vLLM's {@code /score}: one score per pair, in pair order; usage counts the texts' tokens. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ScoreResponse(String id, String object, long created, String model, List<Score> data, Usage usage) {

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Score(int index, String object, double score) {
        public Score(int index, double score) {
            this(index, "score", score);
        }
    }

    public ScoreResponse(String id, long created, String model, List<Score> data, int promptTokens) {
        this(id, "list", created, model, data, Usage.of(promptTokens, 0));
    }
}
