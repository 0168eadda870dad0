package io.quire.api.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.List;

/**
 * The API keys clients may present ({@code quire.api-key}); none: the API is open. Only SHA-256
 * digests are kept, and a presented key is compared with every one of them in constant time, so
 * neither the key's length nor how many leading bytes match shows in the response time.
 */
public final class ApiKeys {
    private final List<byte[]> digests;

    private ApiKeys(List<byte[]> digests) {
        this.digests = digests;
    }

    /** The keys, blank entries ignored (an empty {@code QUIRE_API_KEY=} means no key). */
    public static ApiKeys of(Collection<String> keys) {
        List<byte[]> digests = keys == null ? List.of() : keys.stream()
                .filter(k -> k != null && !k.isBlank())
                .map(String::strip)
                .map(ApiKeys::sha256)
                .toList();
        return new ApiKeys(digests);
    }

    public static ApiKeys none() { return new ApiKeys(List.of()); }

    /** Whether no key is configured, so nothing needs one. */
    public boolean isEmpty() { return digests.isEmpty(); }

    public int size() { return digests.size(); }

    /** The 1-based number of the configured key {@code presented} equals, or 0. */
    public int match(String presented) {
        if (presented == null) return 0;
        byte[] d = sha256(presented);
        int found = 0;
        // No early exit: every configured key is compared whatever matched.
        for (int i = 0; i < digests.size(); i++) {
            if (MessageDigest.isEqual(digests.get(i), d) && found == 0) found = i + 1;
        }
        return found;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
