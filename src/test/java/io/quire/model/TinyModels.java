package io.quire.model;

import io.quire.SharedFiles;
import io.quire.backend.Tensor;
import io.quire.backend.TensorType;
import io.quire.model.gguf.GgufFile;
import io.quire.model.gguf.GgufMetadata;
import io.quire.model.gguf.GgufWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A tiny random-weight Llama as a {@link GgufWriter}, for tests outside this package that break one key of it;
 * and stories260K with one key added.
 */
public final class TinyModels {
    /** One layer, 4 heads over 2 KV heads of size 16, context 64, vocabulary 320. */
    public static final ModelConfig CONFIG = ModelConfig.llama(64, 1, 4, 2, 96, 320, 64);

    private TinyModels() {}

    /** The model's GGUF contents, not yet written: override a metadata key, then {@link GgufWriter#write}. */
    public static GgufWriter writer() {
        return RandomModels.writer(CONFIG, TensorType.F32, 1);
    }

    /** stories260K rewritten with {@code llama.pooling_type} set to {@code type} (none when negative). */
    public static Path stories260KWithPooling(Path to, long type) throws IOException {
        try (GgufFile in = GgufFile.open(SharedFiles.stories260K())) {
            GgufWriter out = new GgufWriter();
            for (Map.Entry<String, GgufMetadata.Entry> e : in.metadata().entries().entrySet()) {
                out.put(e.getKey(), e.getValue());
            }
            if (type >= 0) out.putUInt32("llama.pooling_type", type);
            for (String name : in.tensorInfos().keySet()) {
                Tensor t = in.tensor(name);
                out.addTensor(name, t.type(), t.shape(), t.data());
            }
            out.write(to);
        }
        return to;
    }
}
