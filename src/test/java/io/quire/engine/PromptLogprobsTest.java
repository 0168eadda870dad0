package io.quire.engine;

import io.quire.backend.KvCache;
import io.quire.backend.TensorType;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.RandomModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Prompt logprobs (vLLM's prompt_logprobs) through the engine on a real (random) model: entry i of
 * a request's prompt logprobs is prompt token i + 1's logprob given the tokens before it, so each
 * must equal what the model gives that prefix alone, run densely as its own prompt (the last-token
 * logits path) — whether the prompt ran whole, in chunks, after a cached prefix, or forked into n.
 */
class PromptLogprobsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static LanguageModel<?> model;
    private static int[] prompt;
    /** Per position i (1..), prompt token i's logprob given tokens 0..i-1, its rank, and the argmax. */
    private static double[] refLogprob;
    private static int[] refRank, refTop;

    @BeforeAll
    static void reference() {
        model = RandomModels.load(ModelConfig.llama(128, 2, 4, 2, 256, 600, 1024), TensorType.F32, 31);
        Random rnd = new Random(7);
        prompt = new int[45];
        prompt[0] = 1;
        for (int i = 1; i < prompt.length; i++) prompt[i] = 3 + rnd.nextInt(597);
        refLogprob = new double[prompt.length];
        refRank = new int[prompt.length];
        refTop = new int[prompt.length];
        for (int p = 1; p < prompt.length; p++) {
            float[] logits = lastLogits(model, java.util.Arrays.copyOf(prompt, p));
            double lse = LogSoftmax.logSumExp(logits);
            refLogprob[p] = logits[prompt[p]] - lse;
            int rank = 1, top = 0;
            for (int t = 0; t < logits.length; t++) {
                if (logits[t] > logits[prompt[p]]) rank++;
                if (logits[t] > logits[top]) top = t;
            }
            refRank[p] = rank;
            refTop[p] = top;
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** The model's logits for the last of {@code tokens}, run as one dense prompt in a cache of its own. */
    private static <C extends KvCache> float[] lastLogits(LanguageModel<C> m, int[] tokens) {
        return m.forward(DensePrompt.batch(tokens), m.newKvCache(8, 16))[0].clone();
    }

    private static List<RequestOutput> run(LLMEngine engine, String id, SamplingParams params) {
        List<RequestOutput> outs = engine.generate(id, prompt, params, null).collectList().block(TIMEOUT);
        assertThat(outs).isNotEmpty();
        assertThat(outs.getLast().finished()).isTrue();
        return outs;
    }

    /** The first output carries them, whole and matching the reference; no later output does. */
    private static void assertMatchesReference(List<RequestOutput> outs, int k) {
        List<PromptLogprob> got = outs.getFirst().promptLogprobs();
        assertThat(got).hasSize(prompt.length - 1);
        for (int i = 0; i < got.size(); i++) {
            int p = i + 1;
            PromptLogprob e = got.get(i);
            assertThat(e.logprob().tokenId()).isEqualTo(prompt[p]);
            // batched rows sum in another order than a lone last row: float rounding only
            assertThat((double) e.logprob().logprob()).as("position %d", p).isCloseTo(refLogprob[p],
                    org.assertj.core.data.Offset.offset(2e-4));
            assertThat(e.rank()).as("rank at %d", p).isBetween(refRank[p] - 1, refRank[p] + 1);
            assertThat(e.logprob().top()).hasSize(k);
            if (k > 0) assertThat(e.logprob().top().getFirst().tokenId()).isEqualTo(refTop[p]);
        }
        for (RequestOutput o : outs.subList(1, outs.size())) assertThat(o.promptLogprobs()).isNull();
    }

    @Test
    void eachPromptTokensLogprobIsWhatThePrefixAloneGives() {
        try (LLMEngine engine = TestEngines.with(model).blocks(64, 16).build()) {
            // 0 first: a fresh sampler's heap of none (it once read past it)
            assertMatchesReference(run(engine, "zero", SamplingParams.greedy(1).withPromptLogprobs(0)), 0);
            assertMatchesReference(run(engine, "a", SamplingParams.greedy(3).withPromptLogprobs(2)), 2);
            // none asked for, none computed
            assertThat(run(engine, "none", SamplingParams.greedy(2)).getFirst().promptLogprobs()).isNull();
            TestEngines.awaitAllBlocksFree(engine);
        }
    }

    @Test
    void aPromptRunInChunksOfSevenTokensGivesTheSame() {
        // 45 tokens in steps of 7: rows come from the chunks' inner tokens and from each chunk's last one
        try (LLMEngine engine = TestEngines.with(model).blocks(64, 16).maxNumBatchedTokens(7).build()) {
            assertMatchesReference(run(engine, "a", SamplingParams.greedy(2).withPromptLogprobs(1)), 1);
            TestEngines.awaitAllBlocksFree(engine);
        }
    }

    @Test
    void aCachedPrefixIsComputedAgainForPromptLogprobs() {
        try (LLMEngine engine = TestEngines.with(model).blocks(64, 16).prefixCaching(true).build()) {
            run(engine, "warm", SamplingParams.greedy(2));
            assertMatchesReference(run(engine, "a", SamplingParams.greedy(2).withPromptLogprobs(1)), 1);
            TestEngines.awaitAllBlocksFree(engine);
        }
    }

    @Test
    void parallelSamplesAndBeamsGetThemOnce() {
        try (LLMEngine engine = TestEngines.with(model).blocks(64, 16).build()) {
            SamplingParams n3 = SamplingParams.defaults(4).withSeed(3L).withN(3, null).withPromptLogprobs(1);
            assertMatchesReference(run(engine, "n", n3), 1);
            SamplingParams beams = SamplingParams.greedy(4).withN(2, 3).withBeamSearch(1f).withPromptLogprobs(1);
            assertMatchesReference(run(engine, "beam", beams), 1);
            TestEngines.awaitAllBlocksFree(engine);
        }
    }

    @Test
    void concurrentRequestsEachGetTheirOwn() {
        try (LLMEngine engine = TestEngines.with(model).blocks(64, 16).maxNumBatchedTokens(32).build()) {
            List<reactor.core.publisher.Mono<List<RequestOutput>>> all = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                SamplingParams p = SamplingParams.greedy(3);
                if (i % 2 == 0) p = p.withPromptLogprobs(1);
                all.add(engine.generate("r" + i, prompt, p, null).collectList());
            }
            List<List<RequestOutput>> outs = reactor.core.publisher.Flux.merge(all).collectList().block(TIMEOUT);
            assertThat(outs).hasSize(4);
            int with = 0;
            for (List<RequestOutput> o : outs) {
                if (o.getFirst().promptLogprobs() == null) continue;
                assertMatchesReference(o, 1);
                with++;
            }
            assertThat(with).isEqualTo(2);
            TestEngines.awaitAllBlocksFree(engine);
        }
    }

    @Test
    void promptsRecomputedAfterAPreemptionAddNothingTwice() {
        // 6 blocks of 16 hold one 45-token prompt and its 40 tokens, not three: some are preempted and
        // recomputed, prompts in chunks of 8 so that a preemption can strike one half computed
        try (LLMEngine engine = TestEngines.with(model).blocks(6, 16).maxModelLen(96).maxNumBatchedTokens(8).preemptionMode(PreemptionMode.RECOMPUTE)
                .prefixCaching(false).build()) {
            List<reactor.core.publisher.Mono<List<RequestOutput>>> all = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                all.add(engine.generate("r" + i, prompt, SamplingParams.greedy(40).withIgnoreEos(true)
                        .withPromptLogprobs(1), null).collectList());
            }
            List<List<RequestOutput>> outs = reactor.core.publisher.Flux.merge(all).collectList().block(TIMEOUT);
            assertThat(engine.stats().numPreemptions()).isPositive();
            for (List<RequestOutput> o : outs) assertMatchesReference(o, 1);
            TestEngines.awaitAllBlocksFree(engine);
        }
    }

    @Test
    void aModelThatCannotGiveEveryTokensLogitsRefusesThem() {
        try (LLMEngine engine = TestEngines.with(new ToyModel(64, 256)).build()) {
            assertThatThrownBy(() -> engine.generate("t", new int[] {1, 2, 3}, SamplingParams.greedy(2)
                    .withPromptLogprobs(1), null).blockLast(TIMEOUT))
                    .isInstanceOfSatisfying(InvalidRequestException.class,
                            e -> assertThat(e.param()).isEqualTo("prompt_logprobs"));
        }
    }

    @Test
    void moreThanTwentyIsRefused() {
        try (LLMEngine engine = TestEngines.with(model).blocks(64, 16).build()) {
            assertThatThrownBy(() -> engine.generate("t", prompt, SamplingParams.greedy(2).withPromptLogprobs(21),
                    null).blockLast(TIMEOUT)).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("prompt_logprobs");
        }
    }
}
