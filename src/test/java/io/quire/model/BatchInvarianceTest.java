package io.quire.model;

import io.quire.SharedFiles;
import io.quire.backend.TensorType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A sequence's greedy tokens do not depend on what else shares its batch or on how its prompt
 * is chunked: alone, among 15 other sequences of different lengths, and prefilled 7 tokens a step.
 */
class BatchInvarianceTest {

    @Test
    void stories260K() throws Exception {
        try (LanguageModel<?> model = ModelLoader.load(SharedFiles.stories260K())) {
            check(model, 24, 1);
        }
    }

    @Test
    void randomLlamaQ8() {
        try (LanguageModel<?> model = RandomModels.load(ModelConfig.llama(128, 2, 4, 2, 256, 600, 256), TensorType.Q8_0,
                7)) {
            check(model, 16, 2);
        }
    }

    @Test
    void randomQwen2Q4() {
        ModelConfig qwen = new ModelConfig("qwen2", 128, 2, 4, 2, 32, 256, 600, 256, 1e-6f, 1_000_000f, 1f, true, true);
        try (LanguageModel<?> model = RandomModels.load(qwen, TensorType.Q4_0, 9)) {
            check(model, 16, 3);
        }
    }

    private static void check(LanguageModel<?> model, int maxNew, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int vocab = model.config().vocabSize();
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int[] p = new int[1 + random.nextInt(40)];
            p[0] = 1;
            for (int j = 1; j < p.length; j++) p[j] = 3 + random.nextInt(vocab - 3);
            prompts.add(p);
        }
        int[] target = prompts.get(5);

        int[] alone = new SequenceRunner(model, 256, 16, 11).generate(List.of(target), maxNew, Integer.MAX_VALUE)
                .getFirst();
        SequenceRunner batched = new SequenceRunner(model, 256, 16, 12);
        List<int[]> all = batched.generate(prompts, maxNew, Integer.MAX_VALUE);
        int[] chunked = new SequenceRunner(model, 256, 16, 13).generate(List.of(target), maxNew, 7).getFirst();
        int[] chunkedInBatch = new SequenceRunner(model, 256, 16, 14).generate(prompts, maxNew, 7).get(5);

        assertThat(all.get(5)).as("in a batch of 16").containsExactly(alone);
        assertThat(chunked).as("prefilled in chunks of 7").containsExactly(alone);
        assertThat(chunkedInBatch).as("chunked, in a batch of 16").containsExactly(alone);
        assertThat(batched.freeBlockCount()).isEqualTo(256);
    }
}
