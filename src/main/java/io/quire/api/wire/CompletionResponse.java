package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;

/**
 * A completion ({@code object: "text_completion"}), and the shape of each of its stream chunks,
 * where {@code usage} is left out except on the last chunk when it was asked for.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record CompletionResponse(String id, String object, long created, String model, List<CompletionChoice> choices,
                                 @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {
    public static final String OBJECT = "text_completion";
}
