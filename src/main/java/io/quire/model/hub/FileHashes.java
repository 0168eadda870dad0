package io.quire.model.hub;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The two hashes the Hub gives for a file: SHA-256 (Git LFS files) and Git's blob id (the rest). */
final class FileHashes {
    private FileHashes() {}

    static String sha256(Path file) throws IOException {
        return digest(file, "SHA-256", null);
    }

    /** SHA-1 of {@code "blob <size>\0"} then the bytes: what Git names the file by. */
    static String gitBlobSha1(Path file) throws IOException {
        return digest(file, "SHA-1", ("blob " + Files.size(file) + "\0").getBytes(StandardCharsets.US_ASCII));
    }

    private static String digest(Path file, String algorithm, byte[] header) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        if (header != null) md.update(header);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
