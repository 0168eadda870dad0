package io.quire.api.wire;

import java.util.List;

/** {@code GET /v1/models}: {@code {"object": "list", "data": [...]}}. */
public record ModelList(String object, List<ModelCard> data) {}
