package io.quire.engine;

import io.quire.SharedFiles;
import io.quire.backend.KvCache;
import io.quire.kv.KvCacheManager;
import io.quire.model.ForwardBatch;
import io.quire.model.LanguageModel;
import io.quire.model.ModelLoader;
import io.quire.model.tokenizer.StreamingDetokenizer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** n > 1, best_of and beam search: prompt blocks held once, seeded reproducibility, the right sequences returned. */
class MultiSequenceRequestTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    private static LLMEngine engine(LanguageModel<?> m, int numBlocks, int blockSize) {
        return TestEngines.with(m).blocks(numBlocks, blockSize).maxNumSeqs(16).maxNumBatchedTokens(256).build();
    }

    /** Each output index's tokens, concatenated over the stream. */
    private static Map<Integer, int[]> byIndex(List<RequestOutput> outs) {
        assertThat(outs.getLast().finished()).isTrue();
        Map<Integer, int[]> m = new TreeMap<>();
        for (RequestOutput o : outs) {
            for (SequenceDelta d : o.deltas()) {
                int[] prev = m.getOrDefault(d.index(), new int[0]);
                int[] next = Arrays.copyOf(prev, prev.length + d.tokenIds().length);
                System.arraycopy(d.tokenIds(), 0, next, prev.length, d.tokenIds().length);
                m.put(d.index(), next);
            }
        }
        return m;
    }

    private static int[] prompt(int len) {
        int[] p = new int[len];
        p[0] = ToyTokenizer.BOS;
        for (int i = 1; i < len; i++) p[i] = 3 + (i * 13) % 60;
        return p;
    }

    @Test
    void fourSamplesHoldThePromptBlocksOnceAndCopyOnlyThePartialBlock() {
        ToyModel model = new ToyModel(64, 1024);
        try (LLMEngine e = engine(model, 64, 16)) {
            KvCacheManager kv = e.kvCacheManager();
            List<String> checks = new ArrayList<>();
            SamplingParams p = SamplingParams.defaults(8).withSeed(3L).withN(4, null).withIgnoreEos(true);
            AtomicBoolean checking = new AtomicBoolean(true);
            e.addKvReportListener(report -> {
                // On the engine thread, right after the step.
                if (!checking.get() || e.scheduler().running().isEmpty()) return;
                int[][] tables = new int[4][];
                for (int i = 0; i < 4; i++) tables[i] = kv.blockTable(i == 0 ? "r" : "r#" + i);
                if (checks.isEmpty()) {
                    // The prompt ran once; the 4 sequences share its 3 blocks (2 full, 1 half full).
                    for (int[] t : tables) assertThat(t).containsExactly(tables[0]);
                    for (int b : tables[0]) assertThat(kv.refCount(b)).isEqualTo(4);
                    assertThat(kv.numUsedBlocks()).isEqualTo(3);
                    checks.add("fork");
                } else if (checks.size() == 1) {
                    // Each wrote its first token into the half block: 3 copies, the last writer in place.
                    for (int[] t : tables) assertThat(Arrays.copyOf(t, 2)).containsExactly(Arrays.copyOf(tables[0], 2));
                    assertThat(kv.refCount(tables[0][0])).isEqualTo(4);
                    assertThat(kv.refCount(tables[0][1])).isEqualTo(4);
                    assertThat(new HashSet<>(List.of(tables[0][2], tables[1][2], tables[2][2], tables[3][2])))
                            .hasSize(4);
                    assertThat(kv.numUsedBlocks()).as("vs 12 without sharing").isEqualTo(6);
                    assertThat(kv.numCowCopies()).isEqualTo(3);
                    checks.add("cow");
                }
            });
            List<RequestOutput> outs = e.generate("r", prompt(40), p).collectList().block(TIMEOUT);
            checking.set(false);
            assertThat(checks).containsExactly("fork", "cow");
            Map<Integer, int[]> got = byIndex(outs);
            assertThat(got.keySet()).containsExactly(0, 1, 2, 3);
            assertThat(outs.getFirst().deltas()).hasSize(4);
            assertThat(outs.getLast().completionTokens()).isEqualTo(32);

            // Every sequence is the model's own continuation (ToyModel fails on any wrong block), reproducible by seed.
            Map<Integer, int[]> again = byIndex(e.generate("r2", prompt(40), p).collectList().block(TIMEOUT));
            for (int i = 0; i < 4; i++) assertThat(again.get(i)).containsExactly(got.get(i));
            assertThat(new HashSet<>(got.values().stream().map(Arrays::toString).toList())).hasSizeGreaterThan(1);
            // Sequence 0 uses the request's seed itself: the same as n = 1.
            int[] single = byIndex(e.generate("one", prompt(40), p.withN(1, null)).collectList().block(TIMEOUT)).get(0);
            assertThat(single).containsExactly(got.get(0));
            assertThat(e.numFreeBlocks()).isEqualTo(e.numTotalBlocks());
        }
    }

    @Test
    void requestsOfFourSamplesCountAsFourAgainstMaxNumSeqsAndInTheGauges() {
        ToyModel model = new ToyModel(64, 1024);
        try (LLMEngine e = TestEngines.with(model).blocks(256, 16).maxNumSeqs(8).maxNumBatchedTokens(256).build()) {
            SamplingParams p = SamplingParams.defaults(6).withSeed(5L).withN(4, null).withIgnoreEos(true);
            int[] most = new int[1];
            e.addKvReportListener(report -> most[0] = Math.max(most[0], e.scheduler().numRunning()));
            // Six requests of 4 queued at once: two run at a time (8 sequences), never six prompts that fork to 24.
            List<reactor.core.publisher.Flux<RequestOutput>> all = new ArrayList<>();
            for (int i = 0; i < 6; i++) all.add(e.generate("q" + i, prompt(20 + i), p));
            List<List<RequestOutput>> outs = reactor.core.publisher.Flux.merge(all.stream().map(f -> f.collectList()).toList())
                    .collectList().block(TIMEOUT);
            assertThat(outs).hasSize(6).allSatisfy(o -> assertThat(byIndex(o).keySet()).containsExactly(0, 1, 2, 3));
            assertThat(most[0]).isEqualTo(8);
            // The gauges' unit is the sequence: a queued request of 4 counts 4 while it waits.
            Scheduler s = new Scheduler(8, 256, new KvCacheManager(64, 16));
            s.addRequest(new Request("w", prompt(20), p, 6, 0));
            assertThat(s.numWaiting()).isEqualTo(4);
            assertThat(e.numFreeBlocks()).isEqualTo(e.numTotalBlocks());
        }
    }

    @Test
    void bestOfReturnsTheNSamplesWithTheHighestCumulativeLogprob() {
        ToyModel model = new ToyModel(64, 1024);
        try (LLMEngine e = engine(model, 64, 16)) {
            int[] prompt = prompt(21);
            SamplingParams all = SamplingParams.defaults(6).withSeed(11L).withN(4, null).withIgnoreEos(true);
            Map<Integer, int[]> four = byIndex(e.generate("all", prompt, all).collectList().block(TIMEOUT));
            List<RequestOutput> outs = e.generate("best", prompt, all.withN(2, 4)).collectList().block(TIMEOUT);
            assertThat(outs).hasSize(1); // held until the end
            assertThat(outs.getFirst().deltas()).extracting(SequenceDelta::index).containsExactly(0, 1);

            List<int[]> ranked = new ArrayList<>(four.values());
            ranked.sort(Comparator.comparingDouble((int[] out) -> cumulativeLogprob(model, prompt, out)).reversed());
            assertThat(outs.getFirst().deltas().get(0).tokenIds()).containsExactly(ranked.get(0));
            assertThat(outs.getFirst().deltas().get(1).tokenIds()).containsExactly(ranked.get(1));
            assertThat(outs.getFirst().completionTokens()).isEqualTo(12);
        }
    }

    private static double cumulativeLogprob(ToyModel model, int[] prompt, int[] out) {
        double sum = 0;
        int[] seq = Arrays.copyOf(prompt, prompt.length + out.length);
        System.arraycopy(out, 0, seq, prompt.length, out.length);
        for (int i = 0; i < out.length; i++) {
            sum += logSoftmax(model.logitsAfter(Arrays.copyOf(seq, prompt.length + i)), out[i]);
        }
        return sum;
    }

    private static double logSoftmax(float[] logits, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double s = 0;
        for (float v : logits) s += Math.exp(v - max);
        return logits[token] - (max + Math.log(s));
    }

    @Test
    void aGroupThatCannotFitTheCacheIsRefused() {
        ToyModel model = new ToyModel(64, 1024);
        try (LLMEngine e = engine(model, 70, 16)) {
            assertThatThrownBy(() -> e.generate("x", prompt(10), SamplingParams.defaults(300).withN(4, null)))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("KV blocks");
            assertThatThrownBy(() -> e.generate("y", prompt(10), SamplingParams.defaults(10).withN(2, 17)))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("maximum number of sequences");
        }
    }

    // ---- beam search against a plain implementation that recomputes every beam from scratch ----

    private record Beam(int[] tokens, double cum) {}

    private record Done(int[] output, double score) {}

    /**
     * vLLM's beam search, without any cache sharing: each beam's full sequence runs through the
     * model in a fresh cache.
     */
    private static List<int[]> plainBeamSearch(LanguageModel<?> model, int[] prompt, int width, int n, int maxTokens,
                                               float lengthPenalty, int eos) {
        List<Beam> beams = List.of(new Beam(prompt, 0));
        List<Done> done = new ArrayList<>();
        for (int step = 0; step < maxTokens && !beams.isEmpty(); step++) {
            record Ext(int[] tokens, double cum) {}
            List<Ext> ext = new ArrayList<>();
            for (Beam b : beams) {
                float[] logits = freshLogits(model, b.tokens());
                double max = Double.NEGATIVE_INFINITY;
                for (float v : logits) max = Math.max(max, v);
                double s = 0;
                for (float v : logits) s += Math.exp(v - max);
                double lse = max + Math.log(s);
                Integer[] ids = new Integer[logits.length];
                for (int i = 0; i < ids.length; i++) ids[i] = i;
                Arrays.sort(ids, (x, y) -> logits[x] != logits[y] ? Float.compare(logits[y], logits[x])
                        : Integer.compare(x, y));
                for (int k = 0; k < 2 * width; k++) {
                    int tok = ids[k];
                    double cum = b.cum() + (logits[tok] - lse);
                    if (tok == eos) {
                        done.add(new Done(Arrays.copyOfRange(b.tokens(), prompt.length, b.tokens().length),
                                cum / Math.pow(b.tokens().length, lengthPenalty)));
                    } else {
                        int[] t = Arrays.copyOf(b.tokens(), b.tokens().length + 1);
                        t[t.length - 1] = tok;
                        ext.add(new Ext(t, cum));
                    }
                }
            }
            ext.sort(Comparator.comparingDouble(Ext::cum).reversed());
            List<Beam> next = new ArrayList<>();
            for (Ext x : ext.subList(0, Math.min(width, ext.size()))) next.add(new Beam(x.tokens(), x.cum()));
            beams = next;
        }
        for (Beam b : beams) done.add(new Done(Arrays.copyOfRange(b.tokens(), prompt.length, b.tokens().length),
                b.cum() / Math.pow(b.tokens().length, lengthPenalty)));
        done.sort(Comparator.comparingDouble(Done::score).reversed());
        return done.subList(0, Math.min(n, done.size())).stream().map(Done::output).toList();
    }

    private static <C extends KvCache> float[] freshLogits(LanguageModel<C> model, int[] tokens) {
        int bs = 16, blocks = (tokens.length + bs - 1) / bs;
        C cache = model.newKvCache(blocks, bs);
        int[] positions = new int[tokens.length], slots = new int[tokens.length], table = new int[blocks];
        for (int i = 0; i < tokens.length; i++) positions[i] = slots[i] = i;
        for (int b = 0; b < blocks; b++) table[b] = b;
        return model.forward(new ForwardBatch(tokens, positions, slots, new int[]{0, tokens.length},
                new int[][]{table}), cache)[0];
    }

    private static void beamSearchMatches(LanguageModel<?> m, int[] prompt, int width, int n, int maxTokens,
                                          float lengthPenalty) {
        List<int[]> expected = plainBeamSearch(m, prompt, width, n, maxTokens, lengthPenalty, m.tokenizer().eosId());
        try (LLMEngine e = engine(m, 128, 16)) {
            SamplingParams p = SamplingParams.greedy(maxTokens).withN(n, width).withBeamSearch(lengthPenalty);
            List<RequestOutput> outs = e.generate("beam", prompt, p).collectList().block(TIMEOUT);
            assertThat(outs).hasSize(1);
            List<SequenceDelta> beams = outs.getFirst().deltas();
            assertThat(beams).hasSize(expected.size());
            for (int i = 0; i < beams.size(); i++) {
                assertThat(beams.get(i).index()).isEqualTo(i);
                assertThat(beams.get(i).tokenIds())
                        .as("beam %d of width %d, length penalty %s", i, width, lengthPenalty)
                        .containsExactly(expected.get(i));
                var detok = new StreamingDetokenizer(m.tokenizer());
                StringBuilder text = new StringBuilder();
                for (int t : expected.get(i)) text.append(detok.add(t));
                assertThat(beams.get(i).text()).isEqualTo(text.append(detok.flush()).toString());
            }
            assertThat(e.numFreeBlocks()).isEqualTo(e.numTotalBlocks());
        }
    }

    @Test
    void beamSearchWidth4OnStories260KEqualsAPlainBeamSearch() throws Exception {
        try (LanguageModel<?> m = ModelLoader.load(SharedFiles.stories260K())) {
            int[] once = {1, 403, 407, 261, 378};
            beamSearchMatches(m, once, 4, 4, 24, 1f);
            beamSearchMatches(m,
                    new int[]{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401},
                    4, 2, 40, 0.5f);
            beamSearchMatches(m, once, 2, 1, 16, 0f);
        }
    }
}
