package io.quire.model.hub;

import io.quire.SharedFiles;
import io.quire.backend.TensorType;
import io.quire.cli.PullCommandAccess;
import io.quire.model.HfCheckpoints;
import io.quire.model.LanguageModel;
import io.quire.model.ModelLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A transformers repository on the (stand-in) Hub, stories260K as a two-shard safetensors
 * checkpoint beside files Quire does not read: {@code quire pull} and {@code quire.model=Org/Name}
 * fetch exactly the config, tokenizer, generation and index files and the shards the index names,
 * and the snapshot folder loads.
 */
class HubCheckpointPullTest {
    static final String REPO = "quire-test/stories260K-hf";
    static final String COMMIT = "fedcba9876543210fedcba9876543210fedcba98";

    @TempDir
    Path home;
    @TempDir
    Path source;
    FakeHub hub;

    @BeforeEach
    void start() throws Exception {
        Path dir = HfCheckpoints.write(SharedFiles.stories260K(), source.resolve("ckpt"), TensorType.F32, 2, null);
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": 2}");
        List<FakeHub.File> files = new ArrayList<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path p : list.sorted().toList()) {
                files.add(new FakeHub.File(p.getFileName().toString(), Files.readAllBytes(p)));
            }
        }
        // What such repositories also carry, and Quire must not download.
        files.add(new FakeHub.File("pytorch_model.bin", new byte[4096]));
        files.add(new FakeHub.File("consolidated.safetensors", new byte[4096]));
        files.add(new FakeHub.File("README.md", "# stories260K\n".getBytes(StandardCharsets.UTF_8)));
        hub = new FakeHub();
        hub.add(REPO, COMMIT, files.toArray(FakeHub.File[]::new));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private Map<String, String> env(boolean offline) {
        Map<String, String> env = new HashMap<>(Map.of("HF_HOME", home.toString(), "HF_ENDPOINT", hub.endpoint()));
        if (offline) env.put("HF_HUB_OFFLINE", "1");
        return env;
    }

    @Test
    void pullFetchesOnlyWhatTheLoaderReads() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = PullCommandAccess.run(new String[] {REPO}, env(false),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        Path snapshot = Path.of(out.toString(StandardCharsets.UTF_8).strip());
        assertThat(snapshot).endsWith(Path.of("snapshots", COMMIT));
        try (Stream<Path> list = Files.list(snapshot)) {
            assertThat(list.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("config.json",
                    "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                    "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json");
        }
        try (LanguageModel<?> m = ModelLoader.load(snapshot)) {
            assertThat(m.tokenizer().encode("Once upon a time")).containsExactly(1, 403, 407, 261, 378);
        }
    }

    @Test
    void quireModelServesTheSnapshotFolderAlsoOffline() throws Exception {
        HubModelId id = HubModelId.parse(REPO);
        HubModels.Pulled pulled = HubModels.pullModel(HubClient.fromEnvironment(env(false)), id, null,
                DownloadProgress.NONE);
        assertThat(pulled.model()).isEqualTo(pulled.snapshot().dir());
        assertThat(pulled.snapshot().files()).extracting(HubFile::name).doesNotContain("pytorch_model.bin",
                "consolidated.safetensors", "README.md");
        int asked = hub.requests.size();
        HubModels.Pulled offline = HubModels.pullModel(HubClient.fromEnvironment(env(true)), id, null,
                DownloadProgress.NONE);
        assertThat(offline.model()).isEqualTo(pulled.model());
        assertThat(hub.requests).hasSize(asked);
    }
}
