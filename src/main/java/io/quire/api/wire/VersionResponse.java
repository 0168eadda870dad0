package io.quire.api.wire;

/** {@code GET /version}. */
public record VersionResponse(String version) {}
