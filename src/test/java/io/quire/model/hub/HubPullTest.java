package io.quire.model.hub;

import io.quire.SharedFiles;
import io.quire.cli.PullCommandAccess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code quire pull} against a local stand-in for the Hub ({@link FakeHub}): the cache it writes is
 * huggingface_hub's layout, files are checked, a stopped download resumes, the token stays with the
 * Hub, and the offline mode reads only the cache.
 */
class HubPullTest {
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    static final String REPO = "quire-test/stories260K-GGUF";

    @TempDir
    Path home;
    FakeHub hub;
    byte[] gguf;
    final byte[] readme = "# stories260K\n".getBytes(StandardCharsets.UTF_8);

    @BeforeEach
    void start() throws Exception {
        gguf = Files.readAllBytes(SharedFiles.stories260K());
        hub = new FakeHub();
        hub.add(REPO, COMMIT, new FakeHub.File("stories260K.gguf", gguf), new FakeHub.File("README.md", readme));
        hub.add("quire-test/two-ggufs", COMMIT.replace('0', 'a'), new FakeHub.File("a-Q8_0.gguf", gguf),
                new FakeHub.File("a-F32.gguf", gguf));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private record Run(int status, String out, String err) {}

    private Run pull(Map<String, String> extraEnv, String... args) {
        Map<String, String> env = new HashMap<>(Map.of("HF_HOME", home.toString(), "HF_ENDPOINT", hub.endpoint()));
        env.putAll(extraEnv);
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = PullCommandAccess.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8).strip(), err.toString(StandardCharsets.UTF_8));
    }

    private Path repoDir() {
        return home.resolve("hub/models--quire-test--stories260K-GGUF");
    }

    @Test
    void writesHuggingFaceCacheLayoutAndReusesIt() throws Exception {
        Run r = pull(Map.of(), REPO);
        assertThat(r.status()).as(r.err()).isZero();
        Path snapshot = repoDir().resolve("snapshots").resolve(COMMIT);
        assertThat(r.out()).isEqualTo(snapshot.toString());
        assertThat(Files.readString(repoDir().resolve("refs/main"))).isEqualTo(COMMIT);
        Path link = snapshot.resolve("stories260K.gguf");
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(Files.readSymbolicLink(link).toString()).isEqualTo("../../blobs/" + FakeHub.sha256(gguf));
        assertThat(Files.readAllBytes(link)).isEqualTo(gguf);
        assertThat(Files.readSymbolicLink(snapshot.resolve("README.md")).toString())
                .isEqualTo("../../blobs/" + FakeHub.gitBlob(readme));
        assertThat(r.err()).contains("Downloaded and checked: stories260K.gguf");
        // The token, had there been one, never went to the CDN host the large file was redirected to.
        assertThat(hub.requests).anyMatch(q -> q.contains("127.0.0.1") && q.contains("/cdn/"));

        long before = hub.downloads();
        Run again = pull(Map.of(), REPO);
        assertThat(again.status()).isZero();
        assertThat(hub.downloads()).isEqualTo(before);
        assertThat(again.err()).contains("In the cache: stories260K.gguf");
    }

    @Test
    void aStoppedDownloadResumesWhereItStopped() throws Exception {
        hub.cutsLeft.set(1);
        hub.cutAfter = gguf.length / 2;  // the connection is cut at 50 %
        Run first = pull(Map.of(), REPO, "--file", "stories260K.gguf");
        assertThat(first.status()).isEqualTo(1);
        assertThat(first.err()).contains("stopped after").contains("run again to resume");
        Path part = repoDir().resolve("blobs").resolve(FakeHub.sha256(gguf) + ".incomplete");
        // The hub cuts the connection half way; a reset may drop some of what was in flight, so the
        // client keeps a prefix of that half, never more.
        long kept = Files.size(part);
        assertThat(kept).isPositive().isLessThanOrEqualTo(gguf.length / 2);

        Run second = pull(Map.of(), REPO, "--file", "stories260K.gguf");
        assertThat(second.status()).as(second.err()).isZero();
        assertThat(hub.requests).anyMatch(q -> q.contains("range=bytes=" + kept + "-"));
        assertThat(Files.readAllBytes(Path.of(second.out()))).isEqualTo(gguf);
        assertThat(part).doesNotExist();
    }

    @Test
    void bytesThatDoNotMatchTheHashNeverEnterTheCache() throws Exception {
        hub.corrupt = true;
        Run r = pull(Map.of(), REPO, "--file", "stories260K.gguf");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("do not match the Hub's SHA-256").contains("deleted");
        try (var blobs = Files.list(repoDir().resolve("blobs"))) {
            assertThat(blobs.toList()).isEmpty();
        }
    }

    @Test
    void aPrivateRepositoryNeedsTheTokenWhichStaysWithTheHub() {
        hub.requiredToken = "hf_secret";
        Run without = pull(Map.of(), REPO);
        assertThat(without.status()).isEqualTo(1);
        assertThat(without.err()).contains("HF_TOKEN");
        Run with = pull(Map.of("HF_TOKEN", "hf_secret"), REPO);
        assertThat(with.status()).as(with.err()).isZero();
        assertThat(hub.requests).filteredOn(q -> q.contains("/cdn/")).isNotEmpty()
                .allMatch(q -> q.endsWith("auth=null"));
        assertThat(hub.requests).filteredOn(q -> q.contains("/api/models/") && q.contains("localhost"))
                .anyMatch(q -> q.endsWith("auth=Bearer hf_secret"));
    }

    @Test
    void offlineReadsOnlyTheCache() {
        Run missing = pull(Map.of("HF_HUB_OFFLINE", "1"), REPO);
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.err()).contains("HF_HUB_OFFLINE is set").contains("not in the cache");
        assertThat(hub.requests).isEmpty();

        assertThat(pull(Map.of(), REPO).status()).isZero();
        int asked = hub.requests.size();
        Run offline = pull(Map.of("HF_HUB_OFFLINE", "1"), REPO, "--file", "stories260K.gguf");
        assertThat(offline.status()).as(offline.err()).isZero();
        assertThat(hub.requests).hasSize(asked);
    }

    @Test
    void severalGgufFilesNeedAChoiceAndBadIdsAreRefused() throws Exception {
        Run r = pull(Map.of(), "quire-test/two-ggufs");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("2 GGUF files; choose one with --file: a-Q8_0.gguf, a-F32.gguf");
        Run one = pull(Map.of(), "quire-test/two-ggufs", "--file", "a-F32.gguf");
        assertThat(one.status()).isZero();
        assertThat(Path.of(one.out()).getFileName().toString()).isEqualTo("a-F32.gguf");
        assertThat(Files.exists(Path.of(one.out()).resolveSibling("a-Q8_0.gguf"))).isFalse();

        assertThat(pull(Map.of(), "../../etc").status()).isEqualTo(2);
        assertThat(pull(Map.of(), "quire-test/nope").err()).contains("not found");
    }
}
