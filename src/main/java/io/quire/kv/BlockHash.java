package io.quire.kv;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Objects;

/**
 * The identity of one full KV block for prefix caching (vLLM v1's {@code BlockHash}): a 128-bit
 * SHA-256 prefix over the parent block's hash, the block's token ids and an extra key (such as a
 * cache salt), so that equal hashes mean equal whole prefixes. The token ids and the parent hash
 * are kept too, and a cache hit is only taken when they match ({@link #sameContent}): even a
 * collision of the 128-bit hash can never hand a request someone else's KV.
 */
public final class BlockHash {
    private final long hi;
    private final long lo;
    private final long parentHi;
    private final long parentLo;
    private final int[] tokenIds;
    private final String extraKey;

    private BlockHash(long hi, long lo, long parentHi, long parentLo, int[] tokenIds, String extraKey) {
        this.hi = hi;
        this.lo = lo;
        this.parentHi = parentHi;
        this.parentLo = parentLo;
        this.tokenIds = tokenIds;
        this.extraKey = extraKey;
    }

    /**
     * The hash of the block holding {@code tokenIds}, after the block whose hash is {@code parent}
     * (null for the first block of a sequence).
     */
    public static BlockHash of(BlockHash parent, int[] tokenIds, String extraKey) {
        long ph = parent == null ? 0 : parent.hi, pl = parent == null ? 0 : parent.lo;
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
        ByteBuffer buf = ByteBuffer.allocate(17 + 4 * tokenIds.length);
        buf.put((byte) (parent == null ? 0 : 1)).putLong(ph).putLong(pl);
        for (int t : tokenIds) buf.putInt(t);
        sha.update(buf.array());
        if (extraKey != null) sha.update(extraKey.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        ByteBuffer d = ByteBuffer.wrap(sha.digest());
        return new BlockHash(d.getLong(), d.getLong(), ph, pl, tokenIds.clone(), extraKey);
    }

    /** Whether {@code other} is the same parent, tokens and extra key (not only the same hash). */
    public boolean sameContent(BlockHash other) {
        return other.hi == hi && other.lo == lo && other.parentHi == parentHi && other.parentLo == parentLo
                && Arrays.equals(other.tokenIds, tokenIds) && Objects.equals(other.extraKey, extraKey);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockHash b && b.hi == hi && b.lo == lo;
    }

    @Override
    public int hashCode() { return Long.hashCode(hi ^ lo); }

    @Override
    public String toString() { return String.format("%016x%016x", hi, lo); }
}
