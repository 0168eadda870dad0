package io.quire.engine;

import io.quire.backend.KvCache;
import io.quire.backend.TensorType;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.RandomModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

/**
 * Embeddings through the engine on a real (random) model: a request's embedding is its prompt's last
 * final hidden state, so it must equal what the model gives for that prompt run densely on its own
 * (the vector its output matrix turns into the last logits), however the engine ran it: whole, in
 * chunks, after a cached prefix, or batched with other requests.
 */
class EmbeddingTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static LanguageModel<?> model;
    private static final int[][] PROMPTS = new int[4][];
    private static final float[][] REFERENCE = new float[4][];

    @BeforeAll
    static void reference() {
        model = RandomModels.load(ModelConfig.llama(128, 2, 4, 2, 256, 600, 1024), TensorType.F32, 31);
        Random rnd = new Random(11);
        for (int i = 0; i < PROMPTS.length; i++) {
            PROMPTS[i] = new int[5 + 13 * i];
            PROMPTS[i][0] = 1;
            for (int t = 1; t < PROMPTS[i].length; t++) PROMPTS[i][t] = 3 + rnd.nextInt(597);
            REFERENCE[i] = lastHidden(model, PROMPTS[i]);
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** The model's final hidden state at the last of {@code tokens}, run as one dense prompt in a cache of its own. */
    private static <C extends KvCache> float[] lastHidden(LanguageModel<C> m, int[] tokens) {
        float[][] out = new float[1][];
        m.forward(DensePrompt.batch(tokens), m.newKvCache(8, 16), null,
                (s, hidden, offset) -> out[0] = Arrays.copyOfRange(hidden, offset, offset + m.config().dim()));
        return out[0];
    }

    private static float[] embed(LLMEngine engine, String id, int[] prompt) {
        List<RequestOutput> outs = engine.embed(List.of(id), List.of(prompt), null, 0).getFirst()
                .collectList().block(TIMEOUT);
        assertThat(outs).isNotEmpty();
        RequestOutput last = outs.getLast();
        assertThat(last.finished()).isTrue();
        assertThat(last.promptTokens()).isEqualTo(prompt.length);
        for (RequestOutput o : outs.subList(0, outs.size() - 1)) assertThat(o.embedding()).isNull();
        return last.embedding();
    }

    /** Equal to the dense run up to float rounding: batched rows may sum in another order. */
    private static void assertMatches(float[] got, float[] want) {
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
            assertThat(got[i]).as("component %d", i).isCloseTo(want[i], offset(1e-4f));
        }
    }

    @Test
    void anEmbeddingIsThePromptsLastFinalHiddenState() {
        try (LLMEngine engine = TestEngines.with(model).blocks(64, 16).build()) {
            for (int i = 0; i < PROMPTS.length; i++) assertMatches(embed(engine, "e" + i, PROMPTS[i]), REFERENCE[i]);
            // a hidden state is not a constant: different prompts, different vectors
            assertThat(REFERENCE[0]).isNotEqualTo(REFERENCE[1]);
            TestEngines.awaitAllBlocksFree(engine);
        }
    }

    @Test
    void aPromptRunInChunksACachedPrefixOrABatchGivesTheSame() {
        try (LLMEngine chunked = TestEngines.with(model).blocks(64, 16).maxNumBatchedTokens(7).build()) {
            assertMatches(embed(chunked, "c", PROMPTS[3]), REFERENCE[3]);
            TestEngines.awaitAllBlocksFree(chunked);
        }
        try (LLMEngine engine = TestEngines.with(model).blocks(64, 16).prefixCaching(true).build()) {
            // the same 44-token prompt generated first: its two full blocks are cached, the embedding reuses them
            engine.generate("warm", PROMPTS[3], SamplingParams.greedy(2), null).blockLast(TIMEOUT);
            assertMatches(embed(engine, "cached", PROMPTS[3]), REFERENCE[3]);
            // every prompt at once, with text requests running beside them
            List<String> ids = new ArrayList<>();
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < PROMPTS.length; i++) {
                ids.add("b" + i);
                prompts.add(PROMPTS[i]);
            }
            Flux<RequestOutput> text = engine.generate("text", PROMPTS[2], SamplingParams.greedy(20).withIgnoreEos(true),
                    null);
            List<Flux<RequestOutput>> embeddings = engine.embed(ids, prompts, null, 0);
            List<RequestOutput> textOut = text.collectList().block(TIMEOUT);
            assertThat(textOut.getLast().deltas().getFirst().finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(textOut.getLast().embedding()).isNull();
            for (int i = 0; i < PROMPTS.length; i++) {
                assertMatches(embeddings.get(i).blockLast(TIMEOUT).embedding(), REFERENCE[i]);
            }
            TestEngines.awaitAllBlocksFree(engine);
        }
    }

    @Test
    void aPromptMayFillTheWholeContextButNoMore() {
        int[] full = Arrays.copyOf(PROMPTS[3], 40);
        try (LLMEngine engine = TestEngines.with(model).blocks(64, 16).maxModelLen(40).build()) {
            assertMatches(embed(engine, "full", full), lastHidden(model, full));
            int[] over = Arrays.copyOf(PROMPTS[3], 41);
            assertThatThrownBy(() -> engine.embed(List.of("over"), List.of(over), null, 0))
                    .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                        assertThat(e.param()).isEqualTo("input");
                        assertThat(e.getMessage()).isEqualTo("This model's maximum context length is 40 tokens."
                                + " However, you requested 41 tokens in the input for embedding generation. Please"
                                + " reduce the length of the input.");
                    });
            assertThatThrownBy(() -> engine.embed(List.of("empty"), List.of(new int[0]), null, 0))
                    .isInstanceOf(InvalidRequestException.class);
            assertThatThrownBy(() -> engine.embed(List.of("oov"), List.of(new int[] {1, 600}), null, 0))
                    .isInstanceOf(InvalidRequestException.class);
            TestEngines.awaitAllBlocksFree(engine);
        }
    }

    @Test
    void anAbortedEmbeddingEndsWithoutAVectorAndFreesItsBlocks() {
        // four tokens per step: the 44-token prompt is most likely still running when the abort comes; a
        // warm engine on a busy machine may have finished it first (before the abort was asked, or after it
        // was asked but before the engine's loop took it up), so it is tried again until one is caught
        try (LLMEngine engine = TestEngines.with(model).blocks(64, 16).maxNumBatchedTokens(4).build()) {
            RequestOutput caught = null;
            for (int attempt = 0; attempt < 20 && caught == null; attempt++) {
                Flux<RequestOutput> sent = engine.embed(List.of("gone" + attempt), List.of(PROMPTS[3]), null, 0)
                        .getFirst();
                boolean asked = engine.abort("gone" + attempt);
                RequestOutput last = sent.blockLast(TIMEOUT);
                assertThat(last.finished()).isTrue();
                if (asked && last.embedding() == null) caught = last;
                else assertThat(last.embedding()).isNotNull();  // it ended first, whole
            }
            assertThat(caught).as("an abort that came while the prompt ran").isNotNull();
            assertThat(caught.deltas().getFirst().finishReason()).isEqualTo(FinishReason.ABORT);
            TestEngines.awaitAllBlocksFree(engine);
        }
    }

    @Test
    void aModelWithoutHiddenStatesRefusesEmbeddings() {
        try (LLMEngine engine = TestEngines.with(new ToyModel(64, 256)).blocks(16, 16).build()) {
            assertThatThrownBy(() -> engine.embed(List.of("e"), List.of(new int[] {1, 2, 3}), null, 0))
                    .isInstanceOfSatisfying(InvalidRequestException.class,
                            e -> assertThat(e.getMessage()).contains("not computed on this device"));
        }
    }
}
