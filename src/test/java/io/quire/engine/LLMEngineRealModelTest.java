package io.quire.engine;

import io.quire.SharedFiles;
import io.quire.backend.TensorType;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.ModelLoader;
import io.quire.model.RandomModels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** LLMEngine with real models: stories260K (llama.cpp reference tokens) and random-weight models. */
class LLMEngineRealModelTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final int[] ONCE_UPON_A_TIME = {1, 403, 407, 261, 378};
    private static final List<Integer> REFERENCE = List.of(432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
            401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394);

    private final List<LLMEngine> engines = new ArrayList<>();
    private LanguageModel<?> model;

    private LLMEngine engine(LanguageModel<?> m, int numBlocks, int blockSize, int maxSeqs, int maxBatched,
                             int maxModelLen) {
        LLMEngine e = TestEngines.with(m).blocks(numBlocks, blockSize).maxNumSeqs(maxSeqs)
                .maxNumBatchedTokens(maxBatched).maxModelLen(maxModelLen).build();
        engines.add(e);
        return e;
    }

    @AfterEach
    void noBlockLeaks() {
        try {
            for (LLMEngine e : engines) {
                try {
                    TestEngines.awaitAllBlocksFree(e);
                } finally {
                    e.shutdown();
                }
            }
        } finally {
            if (model != null) model.close();
        }
    }

    private LanguageModel<?> stories() throws IOException {
        return model = ModelLoader.load(SharedFiles.stories260K());
    }

    private static int[] tokens(List<RequestOutput> outs) {
        assertThat(outs.getLast().finished()).isTrue();
        return outs.stream().flatMapToInt(o -> Arrays.stream(o.deltas().getFirst().tokenIds())).toArray();
    }

    private static String text(List<RequestOutput> outs) {
        StringBuilder sb = new StringBuilder();
        for (RequestOutput o : outs) sb.append(o.deltas().getFirst().text());
        return sb.toString();
    }

    @Test
    void stories260KGreedyMatchesLlamaCpp() throws IOException {
        LLMEngine e = engine(stories(), 64, 16, 8, 2048, 0);
        assertThat(e.maxModelLen()).isEqualTo(512);
        assertThat(e.tokenizer().encode("Once upon a time")).containsExactly(ONCE_UPON_A_TIME);
        StepVerifier.create(e.generate("s", ONCE_UPON_A_TIME, SamplingParams.greedy(32))
                .map(o -> o.deltas().getFirst().tokenIds()[0]))
                .expectNextSequence(REFERENCE).expectComplete().verify(TIMEOUT);
        List<RequestOutput> outs = e.generate("t", ONCE_UPON_A_TIME, SamplingParams.greedy(32)).collectList()
                .block(TIMEOUT);
        assertThat(text(outs)).isEqualTo(", there was a little girl named Lily. She loved to play outside in the park."
                + " One day, she saw");
        assertThat(outs.getLast().deltas().getFirst().finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    /** Each prompt alone, then all at once (chunked, mixed with decodes; preempting when the cache is small). */
    private void batchedEqualsAlone(LanguageModel<?> m, int numBlocks, int maxBatched, int maxModelLen, int numRequests,
                                    long seed, boolean expectPreemption) {
        Random rnd = new Random(seed);
        int vocab = m.config().vocabSize();
        List<int[]> prompts = new ArrayList<>();
        List<Integer> maxTokens = new ArrayList<>();
        for (int i = 0; i < numRequests; i++) {
            int len = 1 + rnd.nextInt(Math.min(60, maxModelLen / 2));
            int[] p = new int[len];
            p[0] = 1;
            for (int j = 1; j < len; j++) p[j] = 3 + rnd.nextInt(vocab - 3);
            prompts.add(p);
            maxTokens.add(1 + rnd.nextInt(Math.min(40, maxModelLen - len)));
        }
        LLMEngine alone = engine(m, (maxModelLen + 15) / 16, 16, 1, 2048, maxModelLen);
        List<int[]> expected = new ArrayList<>();
        for (int i = 0; i < numRequests; i++) {
            expected.add(tokens(alone.generate("a" + i, prompts.get(i), SamplingParams.greedy(maxTokens.get(i)))
                    .collectList().block(TIMEOUT)));
        }
        LLMEngine busy = engine(m, numBlocks, 16, 16, maxBatched, maxModelLen);
        List<Mono<List<RequestOutput>>> all = new ArrayList<>();
        for (int i = 0; i < numRequests; i++) all.add(busy.generate("b" + i, prompts.get(i),
                SamplingParams.greedy(maxTokens.get(i))).collectList());
        List<List<RequestOutput>> results = Flux.mergeSequential(all).collectList().block(TIMEOUT);
        for (int i = 0; i < numRequests; i++) assertThat(tokens(results.get(i))).as("request %d", i)
                .containsExactly(expected.get(i));
        if (expectPreemption) assertThat(busy.stats().numPreemptions()).isPositive();
        else assertThat(busy.stats().numPreemptions()).isZero();
    }

    @Test
    void concurrentStoriesRequestsEqualTheirSoloRuns() throws IOException {
        batchedEqualsAlone(stories(), 256, 64, 512, 24, 1, false);
    }

    @Test
    void aTinyCachePreemptsAndGreedyOutputsStayTheSame() throws IOException {
        // 8 blocks of 16 = 128 tokens: one full-length request at a time.
        batchedEqualsAlone(stories(), 8, 64, 128, 10, 2, true);
    }

    @Test
    void randomGqaModelBatchesLikeItRunsAlone() {
        model = RandomModels.load(ModelConfig.llama(96, 2, 6, 2, 160, 400, 256), TensorType.F32, 9);
        batchedEqualsAlone(model, 64, 48, 256, 16, 3, false);
    }

    @Test
    void aSeededSampledRequestIsTheSameAloneAndInABusyBatch() throws IOException {
        LLMEngine e = engine(stories(), 256, 16, 32, 128, 0);
        SamplingParams seeded = new SamplingParams(1, 0.8f, 0.9f, 50, 0.02f, 0.3f, 0.2f, 1.1f, 77L, List.of(),
                List.of(), false, 40, 0, true, Map.of(), null, true);
        int[] alone = tokens(e.generate("alone", ONCE_UPON_A_TIME, seeded).collectList().block(TIMEOUT));
        Random rnd = new Random(4);
        List<Mono<List<RequestOutput>>> all = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int[] p = new int[1 + rnd.nextInt(50)];
            p[0] = 1;
            for (int j = 1; j < p.length; j++) p[j] = 3 + rnd.nextInt(509);
            all.add(e.generate("busy" + i, p, SamplingParams.defaults(1 + rnd.nextInt(40))).collectList());
            if (i == 5) all.add(e.generate("again", ONCE_UPON_A_TIME, seeded).collectList());
        }
        List<List<RequestOutput>> results = Flux.mergeSequential(all).collectList().block(TIMEOUT);
        assertThat(tokens(results.get(6))).containsExactly(alone);
    }

    @Test
    void cancellingMidStreamFreesTheBlocksWithinAStep() throws Exception {
        LLMEngine e = engine(stories(), 64, 16, 8, 2048, 0);
        SamplingParams longRun = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(), false,
                400, 0, true, Map.of(), null, true);
        CountDownLatch got = new CountDownLatch(1);
        var subscription = e.generate("c", ONCE_UPON_A_TIME, longRun).subscribe(o -> got.countDown());
        assertThat(got.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(e.numFreeBlocks()).isLessThan(e.numTotalBlocks());
        subscription.dispose();
        assertThat(TestEngines.awaitAllBlocksFree(e).running()).isZero();
    }
}
