package io.quire.model.hub;

/**
 * A file of a repository at one commit, as the Hub's model info lists it: its size and what it
 * is checked against once downloaded: the SHA-256 of a Git LFS file, else the Git blob id (SHA-1
 * of {@code "blob <size>\0"} and the bytes). The cache names the blob by that same value, as
 * huggingface_hub does (it is the file's ETag).
 */
public record HubFile(String name, long size, String sha256, String blobId) {
    /** The blob's name in the cache. */
    public String etag() {
        return sha256 != null ? sha256 : blobId;
    }
}
