package io.quire.model.hub;

import io.quire.model.safetensors.SafetensorsIndex;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which files of a Hub repository Quire serves: the GGUF file named by {@code quire.model-file}, or
 * the repository's only GGUF file, or, in a repository without GGUF files, its transformers
 * checkpoint: the config, tokenizer and generation files and the safetensors weights the loader
 * reads (not {@code pytorch_model.bin}, {@code consolidated.safetensors} or {@code original/}).
 */
public final class HubModels {
    private HubModels() {}

    /** The GGUF file to serve among {@code files}; {@code wanted} null: the only one there is. */
    public static String chooseGguf(HubModelId id, List<String> files, String wanted) throws HubException {
        List<String> ggufs = files.stream().filter(f -> f.endsWith(".gguf")).sorted().toList();
        if (wanted != null && !wanted.isBlank()) {
            if (files.contains(wanted)) return wanted;
            throw new HubException(id + " has no file " + wanted + "; its GGUF files: "
                    + (ggufs.isEmpty() ? "none" : String.join(", ", ggufs)));
        }
        if (ggufs.size() == 1) return ggufs.getFirst();
        if (ggufs.size() > 1) {
            throw new HubException(id + " has " + ggufs.size() + " GGUF files; choose one with quire.model-file"
                    + " (--file for quire pull): " + String.join(", ", ggufs));
        }
        throw new HubException(id + " has no GGUF file and no safetensors checkpoint (config.json with"
                + " model.safetensors or model.safetensors.index.json)");
    }

    private static final String INDEX = SafetensorsIndex.FILE_NAME;
    private static final String SINGLE = "model.safetensors";
    /** The files of a checkpoint that the loader reads (the shards aside, which the index names). */
    static final Set<String> CHECKPOINT_FILES = Set.of("config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", INDEX, SINGLE);

    /** Whether {@code files} (a repository's) hold a transformers checkpoint in safetensors that Quire can load. */
    public static boolean isCheckpoint(List<String> files) {
        return files.contains("config.json") && (files.contains(INDEX) || files.contains(SINGLE));
    }

    /** What {@code quire.model=Org/Name} serves: {@code model} is the GGUF file or the checkpoint folder. */
    public record Pulled(HubClient.Snapshot snapshot, Path model) {}

    /**
     * Downloads (or finds in the cache) what {@code id} is served from: the GGUF file
     * {@link #chooseGguf} picks, or, when the repository has no GGUF file and {@code wanted} is not
     * set, its safetensors checkpoint ({@link #pullCheckpoint}).
     */
    public static Pulled pullModel(HubClient hub, HubModelId id, String wanted, DownloadProgress progress)
            throws IOException {
        List<String> names = names(hub, id);
        boolean anyGguf = names.stream().anyMatch(n -> n.endsWith(".gguf"));
        if ((wanted == null || wanted.isBlank()) && !anyGguf && isCheckpoint(names)) {
            HubClient.Snapshot s = pullCheckpoint(hub, id, progress);
            return new Pulled(s, s.dir());
        }
        String file = chooseGguf(id, names, wanted);
        HubClient.Snapshot s = hub.pull(id, file::equals, progress);
        return new Pulled(s, s.dir().resolve(file));
    }

    /**
     * The checkpoint files of {@code id}: config, tokenizer and generation files and the index
     * first, then exactly the weights the loader reads: the shards the index names, or {@code model.safetensors}.
     */
    public static HubClient.Snapshot pullCheckpoint(HubClient hub, HubModelId id, DownloadProgress progress)
            throws IOException {
        HubClient.Snapshot meta = hub.pull(id, n -> CHECKPOINT_FILES.contains(n) && !n.equals(SINGLE), progress);
        Path index = meta.dir().resolve(INDEX);
        Set<String> weights = new HashSet<>();
        if (Files.isRegularFile(index)) {
            weights.addAll(SafetensorsIndex.read(index).shards());
        } else {
            weights.add(SINGLE);
        }
        HubClient.Snapshot shards = hub.pull(id, weights::contains, progress);
        if (!shards.commit().equals(meta.commit())) {
            // Someone pushed between the two pulls: config and index belong to the other commit.
            throw new HubException(id + " moved from commit " + meta.commit() + " to " + shards.commit()
                    + " during the download; run again");
        }
        List<HubFile> all = new ArrayList<>(meta.files());
        all.addAll(shards.files());
        return new HubClient.Snapshot(id, shards.commit(), shards.dir(), List.copyOf(all));
    }

    private static List<String> names(HubClient hub, HubModelId id) throws IOException {
        return hub.offline()
                ? hub.pull(id, f -> f.endsWith(".gguf") || CHECKPOINT_FILES.contains(f), DownloadProgress.NONE)
                        .files().stream().map(HubFile::name).toList()
                : hub.info(id).files().stream().map(HubFile::name).toList();
    }

    /** Downloads (or finds in the cache) the chosen GGUF file of {@code id}. */
    public static HubClient.Snapshot pullGguf(HubClient hub, HubModelId id, String wanted, DownloadProgress progress)
            throws IOException {
        String file = chooseGguf(id, names(hub, id), wanted);
        return hub.pull(id, file::equals, progress);
    }
}
