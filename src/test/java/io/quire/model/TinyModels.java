package io.quire.model;

import io.quire.backend.TensorType;
import io.quire.model.gguf.GgufWriter;

/** A tiny random-weight Llama as a {@link GgufWriter}, for tests outside this package that break one key of it. */
public final class TinyModels {
    /** One layer, 4 heads over 2 KV heads of size 16, context 64, vocabulary 320. */
    public static final ModelConfig CONFIG = ModelConfig.llama(64, 1, 4, 2, 96, 320, 64);

    private TinyModels() {}

    /** The model's GGUF contents, not yet written: override a metadata key, then {@link GgufWriter#write}. */
    public static GgufWriter writer() {
        return RandomModels.writer(CONFIG, TensorType.F32, 1);
    }
}
