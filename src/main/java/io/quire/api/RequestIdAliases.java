package io.quire.api;

import java.util.HashMap;
import java.util.Map;

/**
 * Opaque stand-ins for request and sequence ids in one KV report ({@code req-1}, {@code seq-1},
 * numbered in order of first appearance), for callers who may not see other clients' ids: which
 * sequences belong to one request, and which blocks they share, stays visible; the ids do not.
 */
final class RequestIdAliases {
    private final Map<String, String> requests = new HashMap<>();
    private final Map<String, String> sequences = new HashMap<>();

    String request(String id) {
        return id == null ? null : requests.computeIfAbsent(id, k -> "req-" + (requests.size() + 1));
    }

    /** Requests named so far. */
    int size() { return requests.size(); }

    String sequence(String id) {
        return id == null ? null : sequences.computeIfAbsent(id, k -> "seq-" + (sequences.size() + 1));
    }
}
