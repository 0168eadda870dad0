package io.quire.api.wire;

import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

/** One served model in {@code GET /v1/models}, with vLLM's {@code max_model_len} and {@code root}. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ModelCard(String id, String object, long created, String ownedBy, String root, String parent,
        int maxModelLen) {}
