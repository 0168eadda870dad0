package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonInclude;

/** What a chat chunk adds to a choice: the role (first chunk only) and new text; absent fields are left out. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChatDelta(String role, String content) {}
