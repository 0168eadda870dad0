package io.quire.model;

import io.quire.SharedFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The real stories260K model reproduces llama.cpp's reference tokens (shared/models/README.md). */
class Stories260KTest {
    static final int[] PROMPT = {1, 403, 407, 261, 378};
    static final int[] REFERENCE = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337,
            410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394};

    static LanguageModel<?> model;

    @BeforeAll
    static void load() throws Exception {
        model = ModelLoader.load(SharedFiles.stories260K());
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    @Test
    void configComesFromMetadata() {
        ModelConfig c = model.config();
        assertThat(c.architecture()).isEqualTo("llama");
        assertThat(c.dim()).isEqualTo(64);
        assertThat(c.numLayers()).isEqualTo(5);
        assertThat(c.numHeads()).isEqualTo(8);
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.headDim()).isEqualTo(8);
        assertThat(c.ffnDim()).isEqualTo(172);
        assertThat(c.vocabSize()).isEqualTo(512);
        assertThat(c.contextLength()).isEqualTo(512);
        assertThat(c.ropeNeox()).isFalse();
    }

    @Test
    void tokenizesThePromptAsLlamaCppDoes() {
        assertThat(model.tokenizer().encode("Once upon a time", true, false)).containsExactly(PROMPT);
    }

    @Test
    void greedyTokensMatchTheReference() {
        SequenceRunner runner = new SequenceRunner(model, 64, 16, 1);
        int[] out = runner.generate(List.of(PROMPT), REFERENCE.length, Integer.MAX_VALUE).getFirst();
        assertThat(out).containsExactly(REFERENCE);
        assertThat(model.tokenizer().decode(out))
                .isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, "
                + "she saw");
    }

    @Test
    void anFp8E4m3CacheStillGivesTheReferenceTokens() {
        // K and V at 3 mantissa bits: this model's greedy choices keep their margins (e5m2, at 2 bits,
        // parts from the reference at the 32nd token)
        model.useKvCacheDtype(KvCacheDtype.FP8_E4M3);
        try {
            assertThat(model.deviceDescription()).endsWith("KV cache in fp8_e4m3");
            SequenceRunner runner = new SequenceRunner(model, 64, 16, 1);
            assertThat(runner.generate(List.of(PROMPT), REFERENCE.length, Integer.MAX_VALUE).getFirst())
                    .containsExactly(REFERENCE);
        } finally {
            model.useKvCacheDtype(KvCacheDtype.AUTO);
        }
    }
}
