package io.quire.model.hub;

import java.io.IOException;
import java.util.List;

/**
 * Which file of a Hub repository Quire serves: the GGUF file named by {@code quire.model-file}, or
 * the repository's only GGUF file. Safetensors checkpoints are not loaded yet, and say so.
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
        boolean safetensors = files.stream().anyMatch(f -> f.endsWith(".safetensors"));
        throw new HubException(id + (safetensors ? " is a safetensors checkpoint, which Quire cannot load yet;"
                + " use a GGUF repository of the model" : " has no GGUF file"));
    }

    /** Downloads (or finds in the cache) the chosen GGUF file of {@code id}. */
    public static HubClient.Snapshot pullGguf(HubClient hub, HubModelId id, String wanted, DownloadProgress progress)
            throws IOException {
        List<String> names = hub.offline()
                ? hub.pull(id, f -> f.endsWith(".gguf"), DownloadProgress.NONE).files().stream().map(HubFile::name).toList()
                : hub.info(id).files().stream().map(HubFile::name).toList();
        String file = chooseGguf(id, names, wanted);
        return hub.pull(id, file::equals, progress);
    }
}
