package io.quire.model.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local stand-in for the Hugging Face Hub (the real one cannot be reached from here), speaking the
 * parts of its HTTP API that clients use: {@code /api/models/{repo}/revision/{rev}?blobs=true} and
 * {@code /{repo}/resolve/{commit}/{file}} with ETags, {@code Range} requests, and large (LFS) files
 * redirected to another host name ({@code 127.0.0.1} for {@code localhost}), as the Hub sends them to
 * its CDN. It can require a token, cut a download short once, or send wrong bytes.
 */
public final class FakeHub implements AutoCloseable {
    /** One file: LFS files (over 1 KiB here) are checked by SHA-256, the rest by Git blob id. */
    public record File(String name, byte[] bytes) {
        boolean lfs() { return bytes.length > 1024; }
    }

    private final HttpServer server;
    private final Map<String, List<File>> repos = new LinkedHashMap<>();
    private final Map<String, String> commits = new LinkedHashMap<>();
    /** Every request: method, path, Range and Authorization, for the tests to check. */
    public final List<String> requests = new CopyOnWriteArrayList<>();
    public volatile String requiredToken;
    /** Downloads still to cut after this many bytes (then close the connection). */
    public final AtomicInteger cutsLeft = new AtomicInteger();
    public volatile int cutAfter = 100_000;
    public volatile boolean corrupt;
    /** When set, downloads stop after {@link #pauseAfter} bytes until it is counted down. */
    public volatile java.util.concurrent.CountDownLatch pause;
    public volatile int pauseAfter = 100_000;

    public FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    public String endpoint() { return "http://localhost:" + server.getAddress().getPort(); }

    public void add(String repo, String commit, File... files) {
        repos.put(repo, List.of(files));
        commits.put(repo, commit);
    }

    public long downloads() {
        return requests.stream().filter(r -> r.contains("/resolve/") || r.contains("/cdn/")).count();
    }

    private void handle(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        String auth = x.getRequestHeaders().getFirst("Authorization");
        String range = x.getRequestHeaders().getFirst("Range");
        requests.add(x.getRequestMethod() + " " + x.getRequestHeaders().getFirst("Host") + path + " range=" + range
                + " auth=" + auth);
        try (x) {
            if (requiredToken != null && !path.startsWith("/cdn/") && !("Bearer " + requiredToken).equals(auth)) {
                send(x, 401, "{\"error\":\"Invalid credentials\"}");
                return;
            }
            if (path.startsWith("/api/models/")) {
                info(x, path.substring("/api/models/".length()));
            } else if (path.startsWith("/cdn/")) {
                file(x, path.substring("/cdn/".length()), range);
            } else if (path.contains("/resolve/")) {
                String repo = path.substring(1, path.indexOf("/resolve/"));
                String rest = path.substring(path.indexOf("/resolve/") + "/resolve/".length());
                String name = rest.substring(rest.indexOf('/') + 1);
                File f = find(repo, name);
                if (f == null) {
                    send(x, 404, "Entry not found");
                } else if (f.lfs()) {
                    x.getResponseHeaders().add("Location", "http://127.0.0.1:" + server.getAddress().getPort()
                            + "/cdn/" + repo + "/" + name);
                    x.sendResponseHeaders(302, -1);
                } else {
                    file(x, repo + "/" + name, range);
                }
            } else {
                send(x, 404, "not found");
            }
        }
    }

    private void info(HttpExchange x, String rest) throws IOException {
        int rev = rest.indexOf("/revision/");
        String repo = rev < 0 ? rest : rest.substring(0, rev);
        List<File> files = repos.get(repo);
        if (files == null) {
            send(x, 401, "{\"error\":\"Repository not found\"}");
            return;
        }
        List<String> siblings = new ArrayList<>();
        for (File f : files) {
            siblings.add(f.lfs()
                    ? "{\"rfilename\":\"%s\",\"size\":%d,\"blobId\":\"%s\",\"lfs\":{\"sha256\":\"%s\",\"size\":%d}}"
                    .formatted(f.name(), f.bytes().length, gitBlob(f.bytes()), sha256(f.bytes()), f.bytes().length)
                    : "{\"rfilename\":\"%s\",\"size\":%d,\"blobId\":\"%s\"}".formatted(f.name(), f.bytes().length,
                    gitBlob(f.bytes())));
        }
        send(x, 200, "{\"id\":\"%s\",\"sha\":\"%s\",\"siblings\":[%s]}".formatted(repo, commits.get(repo),
                String.join(",", siblings)));
    }

    private File find(String repo, String name) {
        for (File f : repos.getOrDefault(repo, List.of())) if (f.name().equals(name)) return f;
        return null;
    }

    private void file(HttpExchange x, String repoAndName, String range) throws IOException {
        int slash = repoAndName.indexOf('/', repoAndName.indexOf('/') + 1);
        File f = find(repoAndName.substring(0, slash), repoAndName.substring(slash + 1));
        if (f == null) {
            send(x, 404, "Entry not found");
            return;
        }
        byte[] bytes = f.bytes().clone();
        if (corrupt) bytes[bytes.length / 2] ^= 1;
        int from = range == null ? 0 : Integer.parseInt(range.substring("bytes=".length(), range.indexOf('-')));
        if (from >= bytes.length) {
            x.sendResponseHeaders(416, -1);
            return;
        }
        if (range != null) {
            x.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (bytes.length - 1) + "/" + bytes.length);
        }
        x.sendResponseHeaders(range == null ? 200 : 206, bytes.length - from);
        OutputStream out = x.getResponseBody();
        int length = bytes.length - from;
        if (cutsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0 && length > cutAfter) {
            out.write(bytes, from, cutAfter);
            out.flush();
            throw new IOException("cut on purpose");
        }
        java.util.concurrent.CountDownLatch p = pause;
        if (p != null && length > pauseAfter) {
            out.write(bytes, from, pauseAfter);
            out.flush();
            try {
                if (!p.await(60, java.util.concurrent.TimeUnit.SECONDS)) throw new IOException("never resumed");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            from += pauseAfter;
            length -= pauseAfter;
        }
        out.write(bytes, from, length);
    }

    private static void send(HttpExchange x, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(status, b.length);
        x.getResponseBody().write(b);
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String gitBlob(byte[] b) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            md.update(("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(md.digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
