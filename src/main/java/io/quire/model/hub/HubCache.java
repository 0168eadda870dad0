package io.quire.model.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The Hugging Face cache layout, shared with huggingface_hub and every tool built on it:
 * {@code models--Org--Name/blobs/<etag>} holds each file's bytes once,
 * {@code snapshots/<commit>/<file>} links to its blob, and {@code refs/<revision>} names the commit
 * a branch or tag pointed at when it was last downloaded. A download in progress is
 * {@code blobs/<etag>.incomplete}, so an interrupted one resumes where it stopped.
 */
public final class HubCache {
    private final Path root;

    public HubCache(Path root) {
        this.root = root;
    }

    /** {@code HF_HUB_CACHE}, else {@code HF_HOME/hub}, else {@code ~/.cache/huggingface/hub}, as huggingface_hub. */
    public static HubCache fromEnvironment(Map<String, String> env) {
        String hubCache = env.get("HF_HUB_CACHE");
        if (hubCache != null && !hubCache.isBlank()) return new HubCache(Path.of(hubCache));
        String home = env.get("HF_HOME");
        if (home == null || home.isBlank()) {
            String xdg = env.get("XDG_CACHE_HOME");
            Path cache = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
            return new HubCache(cache.resolve("huggingface").resolve("hub"));
        }
        return new HubCache(Path.of(home).resolve("hub"));
    }

    public Path root() { return root; }

    Path repo(HubModelId id) {
        return root.resolve(id.folderName());
    }

    /** The commit the revision names: itself when it is one, else what its ref file says (if downloaded before). */
    public Optional<String> commit(HubModelId id) throws IOException {
        if (id.revisionIsCommit()) return Optional.of(id.revision());
        Path ref = repo(id).resolve("refs").resolve(id.revision());
        if (!Files.isRegularFile(ref)) return Optional.empty();
        String commit = Files.readString(ref, StandardCharsets.UTF_8).strip();
        return commit.matches("[0-9a-f]{40}") ? Optional.of(commit) : Optional.empty();
    }

    void writeRef(HubModelId id, String commit) throws IOException {
        if (id.revisionIsCommit()) return;
        Path ref = repo(id).resolve("refs").resolve(id.revision());
        Files.createDirectories(ref.getParent());
        Files.writeString(ref, commit, StandardCharsets.UTF_8);
    }

    public Path snapshot(HubModelId id, String commit) {
        return repo(id).resolve("snapshots").resolve(commit);
    }

    /** Where a file of the repository appears in a snapshot; a name that would leave it is refused. */
    public Path inSnapshot(HubModelId id, String commit, String file) throws HubException {
        Path dir = snapshot(id, commit);
        Path p = dir.resolve(file).normalize();
        if (file.isEmpty() || file.startsWith("/") || file.contains("\\") || !p.startsWith(dir) || p.equals(dir)) {
            throw new HubException("the Hub listed a file name Quire will not write: '" + file + "'");
        }
        return p;
    }

    Path blob(HubModelId id, String etag) {
        return repo(id).resolve("blobs").resolve(etag);
    }

    Path incomplete(HubModelId id, String etag) {
        return repo(id).resolve("blobs").resolve(etag + ".incomplete");
    }

    /** Points the snapshot's file at its blob with a relative link, as huggingface_hub does. */
    void link(HubModelId id, String commit, String file, String etag) throws IOException {
        Path link = inSnapshot(id, commit, file);
        Files.createDirectories(link.getParent());
        Path target = link.getParent().relativize(blob(id, etag));
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, target);
    }
}
