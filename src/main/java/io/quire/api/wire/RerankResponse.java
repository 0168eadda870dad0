package io.quire.api.wire;

import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/** The answer of vLLM's {@code /rerank}: the documents by relevance, highest first, each with its index. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record RerankResponse(String id, String model, TotalTokens usage, List<Result> results) {

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record TotalTokens(int totalTokens) {}

    public record Document(String text) {}

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Result(int index, Document document, double relevanceScore) {}
}
