package io.quire.model.safetensors;

import io.quire.backend.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of a Hugging Face model folder: one {@code model.safetensors}, or the shards that
 * {@code model.safetensors.index.json} names (all opened up front, so a missing shard fails at
 * startup, not at the first request). Tensors are looked up by their transformers names.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byTensor;

    private SafetensorsCheckpoint(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byTensor) {
        this.dir = dir;
        this.files = files;
        this.byTensor = byTensor;
    }

    /** Whether {@code dir} holds safetensors weights this class can open. */
    public static boolean present(Path dir) {
        return Files.isRegularFile(dir.resolve(SafetensorsIndex.FILE_NAME))
                || Files.isRegularFile(dir.resolve(SINGLE_FILE));
    }

    public static SafetensorsCheckpoint open(Path dir) throws IOException {
        Path indexFile = dir.resolve(SafetensorsIndex.FILE_NAME);
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byTensor = new HashMap<>();
        try {
            if (Files.isRegularFile(indexFile)) {
                SafetensorsIndex index = SafetensorsIndex.read(indexFile);
                Map<String, SafetensorsFile> byShard = new HashMap<>();
                for (String shard : index.shards()) {
                    Path p = dir.resolve(shard);
                    if (!Files.isRegularFile(p)) {
                        throw new SafetensorsException("the shard " + shard + " named by " + indexFile
                                + " is missing");
                    }
                    SafetensorsFile f = SafetensorsFile.open(p);
                    files.add(f);
                    byShard.put(shard, f);
                }
                for (Map.Entry<String, String> e : index.weightMap().entrySet()) {
                    SafetensorsFile f = byShard.get(e.getValue());
                    if (!f.has(e.getKey())) {
                        throw new SafetensorsException(indexFile + " puts " + e.getKey() + " in " + e.getValue()
                                + ", which does not hold it");
                    }
                    byTensor.put(e.getKey(), f);
                }
            } else if (Files.isRegularFile(dir.resolve(SINGLE_FILE))) {
                SafetensorsFile f = SafetensorsFile.open(dir.resolve(SINGLE_FILE));
                files.add(f);
                for (String name : f.entries().keySet()) byTensor.put(name, f);
            } else {
                throw new SafetensorsException(dir + " has no weights: neither " + SINGLE_FILE + " nor "
                        + SafetensorsIndex.FILE_NAME + " (other formats, such as pytorch_model.bin, are not read)");
            }
        } catch (RuntimeException | IOException e) {
            for (SafetensorsFile f : files) f.close();
            throw e;
        }
        return new SafetensorsCheckpoint(dir, files, byTensor);
    }

    /** Whether some tensor of some file does not start on a multiple of {@code alignment} bytes in memory. */
    public boolean hasTensorsMisalignedTo(int alignment) {
        for (SafetensorsFile f : files) if (f.hasTensorsMisalignedTo(alignment)) return true;
        return false;
    }

    /**
     * Replaces each file whose tensors are misaligned by a copy in {@code alignment}-aligned memory of an
     * arena of its own ({@link SafetensorsFile#copiedAligned}), its mapping closed. Throws
     * {@link OutOfMemoryError} when a copy does not fit, the files not copied yet left mapped: this
     * checkpoint stays usable either way (closing it closes the copies made).
     */
    public void alignTensors(int alignment) {
        for (int i = 0; i < files.size(); i++) {
            SafetensorsFile f = files.get(i);
            if (!f.hasTensorsMisalignedTo(alignment)) continue;
            Arena arena = Arena.ofShared();
            SafetensorsFile copy;
            try {
                copy = f.copiedAligned(arena, alignment);
            } catch (OutOfMemoryError e) {
                arena.close();
                throw e;
            }
            files.set(i, copy);
            byTensor.replaceAll((name, file) -> file == f ? copy : file);
        }
    }

    public Path dir() { return dir; }

    public List<SafetensorsFile> files() { return Collections.unmodifiableList(files); }

    public boolean has(String name) { return byTensor.containsKey(name); }

    /** The tensor {@code name} (a transformers name such as {@code model.norm.weight}), in Quire's shape order. */
    public Tensor tensor(String name) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) throw new SafetensorsException("the checkpoint in " + dir + " lacks the tensor " + name);
        return f.tensor(name);
    }

    @Override
    public void close() {
        for (SafetensorsFile f : files) f.close();
    }
}
