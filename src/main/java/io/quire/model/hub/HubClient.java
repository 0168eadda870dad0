package io.quire.model.hub;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Downloads model repositories from the Hugging Face Hub (or a mirror at {@code HF_ENDPOINT}) into
 * the shared {@link HubCache}: the model info API names the commit and each file's size and hash,
 * files come from {@code /resolve/<commit>/}, resume with a {@code Range} request, and are checked
 * against the size and hash before they enter the cache. {@code HF_TOKEN} is sent as a Bearer
 * token (never across a redirect to another host); with {@code HF_HUB_OFFLINE} set nothing is
 * fetched and the cache must already hold the revision.
 */
public final class HubClient {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** A revision of a repository and the chosen files, all in the cache. */
    public record Snapshot(HubModelId id, String commit, Path dir, List<HubFile> files) {}

    /** The commit a revision points at now and the files it has. */
    public record RepoInfo(String commit, List<HubFile> files) {}

    private final String endpoint;
    private final String token;
    private final boolean offline;
    private final HubCache cache;
    private final HttpClient http;

    public HubClient(String endpoint, String token, boolean offline, HubCache cache) {
        this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        this.token = token == null || token.isBlank() ? null : token.strip();
        this.offline = offline;
        this.cache = cache;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** Settings from {@code HF_ENDPOINT}, {@code HF_TOKEN}, {@code HF_HUB_OFFLINE} and the cache variables. */
    public static HubClient fromEnvironment(Map<String, String> env) {
        String endpoint = env.getOrDefault("HF_ENDPOINT", "");
        String offline = env.getOrDefault("HF_HUB_OFFLINE", "").strip().toLowerCase(java.util.Locale.ROOT);
        return new HubClient(endpoint.isBlank() ? DEFAULT_ENDPOINT : endpoint.strip(), env.get("HF_TOKEN"),
                List.of("1", "true", "yes", "on").contains(offline), HubCache.fromEnvironment(env));
    }

    public HubCache cache() { return cache; }

    public boolean offline() { return offline; }

    /** The files of {@code id} that {@code wanted} accepts, downloaded (or found in the cache) and checked. */
    public Snapshot pull(HubModelId id, Predicate<String> wanted, DownloadProgress progress) throws IOException {
        if (offline) return fromCache(id, wanted);
        RepoInfo info = info(id);
        List<HubFile> chosen = info.files().stream().filter(f -> wanted.test(f.name())).toList();
        if (chosen.isEmpty()) {
            throw new HubException(id + " has no file of the kind asked for; it has: "
                    + String.join(", ", info.files().stream().map(HubFile::name).toList()));
        }
        for (HubFile f : chosen) fetch(id, info.commit(), f, progress);
        cache.writeRef(id, info.commit());
        return new Snapshot(id, info.commit(), cache.snapshot(id, info.commit()), chosen);
    }

    /** Asks the Hub which commit the revision is at and what files it holds. */
    public RepoInfo info(HubModelId id) throws IOException {
        if (offline) throw new HubException("HF_HUB_OFFLINE is set: not asking the Hub about " + id);
        URI uri = URI.create(endpoint + "/api/models/" + id.repo() + "/revision/" + encode(id.revision()) + "?blobs=true");
        HttpResponse<InputStream> r = send(uri, null);
        try (InputStream body = r.body()) {
            if (r.statusCode() == 401 || r.statusCode() == 403 || r.statusCode() == 404) {
                throw new HubException(id + ": not found on " + endpoint + " (HTTP " + r.statusCode() + "); a private or"
                        + " gated repository needs HF_TOKEN");
            }
            if (r.statusCode() != 200) throw new HubException(id + ": the Hub answered HTTP " + r.statusCode());
            JsonNode info = JSON.readTree(body);
            String commit = info.path("sha").asString("");
            if (!commit.matches("[0-9a-f]{40}")) throw new HubException(id + ": the Hub named no commit");
            List<HubFile> files = new ArrayList<>();
            for (JsonNode s : info.path("siblings")) {
                JsonNode lfs = s.get("lfs");
                long size = lfs != null ? lfs.path("size").asLong(-1) : s.path("size").asLong(-1);
                String sha256 = lfs != null ? lfs.path("sha256").asString(null) : null;
                String blobId = s.path("blobId").asString(null);
                if (size < 0 || (sha256 == null && blobId == null)) {
                    throw new HubException(id + ": the Hub gave no size or hash for " + s.path("rfilename").asString());
                }
                files.add(new HubFile(s.path("rfilename").asString(), size, sha256, blobId));
            }
            return new RepoInfo(commit, files);
        } catch (JacksonException e) {
            throw new HubException(id + ": the Hub's model info is not JSON", e);
        }
    }

    private Snapshot fromCache(HubModelId id, Predicate<String> wanted) throws IOException {
        String commit = cache.commit(id).orElseThrow(() -> new HubException("HF_HUB_OFFLINE is set and " + id
                + " is not in the cache at " + cache.root()));
        Path dir = cache.snapshot(id, commit);
        List<HubFile> files = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : walk.filter(Files::isRegularFile).toList()) {
                    String name = dir.relativize(p).toString().replace('\\', '/');
                    if (wanted.test(name)) files.add(new HubFile(name, Files.size(p), null, null));
                }
            }
        }
        if (files.isEmpty()) {
            throw new HubException("HF_HUB_OFFLINE is set and the cache holds no file of the kind asked for of " + id
                    + " (" + dir + ")");
        }
        return new Snapshot(id, commit, dir, files);
    }

    private void fetch(HubModelId id, String commit, HubFile f, DownloadProgress progress) throws IOException {
        Path blob = cache.blob(id, f.etag());
        if (Files.isRegularFile(blob) && Files.size(blob) == f.size()) {
            cache.link(id, commit, f.name(), f.etag());
            progress.finished(f.name(), f.size(), true);
            return;
        }
        Files.createDirectories(blob.getParent());
        Path part = cache.incomplete(id, f.etag());
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        if (have > f.size()) {
            Files.delete(part);
            have = 0;
        }
        if (have < f.size() || f.size() == 0) have = download(id, commit, f, part, have, progress);
        verify(f, part);
        Files.move(part, blob, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        cache.link(id, commit, f.name(), f.etag());
        progress.finished(f.name(), f.size(), false);
    }

    /** Appends the rest of the file to {@code part}; returns the bytes it then holds. */
    private long download(HubModelId id, String commit, HubFile f, Path part, long have, DownloadProgress progress)
            throws IOException {
        URI uri = URI.create(endpoint + "/" + id.repo() + "/resolve/" + commit + "/" + encodePath(f.name()));
        HttpResponse<InputStream> r = send(uri, have > 0 ? "bytes=" + have + "-" : null);
        try (InputStream in = r.body()) {
            int status = r.statusCode();
            if (status == 416 && have == f.size()) return have;
            if (status == 401 || status == 403) {
                throw new HubException(f.name() + " of " + id + ": access denied (HTTP " + status + "); set HF_TOKEN");
            }
            if (status == 404) throw new HubException(id + " has no file " + f.name() + " at commit " + commit);
            if (status != 200 && status != 206) {
                throw new HubException(f.name() + " of " + id + ": the Hub answered HTTP " + status);
            }
            boolean append = status == 206;
            long done = append ? have : 0;
            try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                byte[] buf = new byte[1 << 16];
                progress.advanced(f.name(), done, f.size());
                for (int n; (n = in.read(buf)) > 0; ) {
                    out.write(buf, 0, n);
                    done += n;
                    if (done > f.size()) throw new HubException(f.name() + ": the Hub sent more than its " + f.size()
                            + " bytes");
                    progress.advanced(f.name(), done, f.size());
                }
            } catch (HubException e) {
                Files.deleteIfExists(part);
                throw e;
            } catch (IOException e) {
                throw new HubException("download of " + f.name() + " stopped after " + done + " of " + f.size()
                        + " bytes (" + e.getMessage() + "); run again to resume", e);
            }
            if (done != f.size()) {
                throw new HubException("download of " + f.name() + " stopped after " + done + " of " + f.size()
                        + " bytes; run again to resume");
            }
            return done;
        }
    }

    /** Size and hash as the Hub listed them; a file that fails is deleted, so the next try starts clean. */
    private static void verify(HubFile f, Path part) throws IOException {
        long size = Files.size(part);
        String expected = f.sha256() != null ? f.sha256() : f.blobId();
        String actual = f.sha256() != null ? FileHashes.sha256(part) : FileHashes.gitBlobSha1(part);
        if (size != f.size() || !expected.equalsIgnoreCase(actual)) {
            Files.deleteIfExists(part);
            throw new HubException(f.name() + ": the downloaded bytes do not match the Hub's " + (f.sha256() != null
                    ? "SHA-256" : "Git blob id") + " (expected " + expected + " and " + f.size() + " bytes, got " + actual
                    + " and " + size + "); the file was deleted, run again");
        }
    }

    /** GET, following up to five redirects by hand: the token goes only to the host it was meant for. */
    private HttpResponse<InputStream> send(URI uri, String range) throws IOException {
        String host = uri.getHost();
        for (int hop = 0; hop < 6; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(10)).GET()
                    .header("User-Agent", "quire");
            if (token != null && uri.getHost() != null && uri.getHost().equals(host)) {
                b.header("Authorization", "Bearer " + token);
            }
            if (range != null) b.header("Range", range);
            HttpResponse<InputStream> r;
            try {
                r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HubException("interrupted while asking " + uri.getHost());
            } catch (IOException e) {
                throw new HubException("cannot reach the Hub at " + endpoint + " (" + e.getMessage()
                        + "); with HF_HUB_OFFLINE=1 only the cache is used", e);
            }
            int s = r.statusCode();
            if (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) {
                r.body().close();
                String location = r.headers().firstValue("Location").orElseThrow(
                        () -> new HubException("the Hub redirected without a Location"));
                uri = uri.resolve(location);
                continue;
            }
            return r;
        }
        throw new HubException("too many redirects from " + endpoint);
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String encodePath(String path) {
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) parts.add(encode(p));
        return String.join("/", parts);
    }
}
