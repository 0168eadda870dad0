package io.quire.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.quire.backend.TensorType;
import io.quire.backend.cpu.PagedKvCache;
import io.quire.backend.cpu.Parallel;
import org.junit.jupiter.api.Test;

/**
 * A step longer than {@link LlamaModel#CHUNK} tokens runs in parts, each through every layer before
 * the next; the logits are, sequence for sequence, what one pass over the whole step gives, and so
 * are the next step's (which read the K/V the parts wrote). Equal to rounding, not bit for bit:
 * until C2 compiles the kernels, the Vector API's Java fallback sums lanes in another order
 * (docs/performance.md), so two calls may differ in the last bits.
 */
class LlamaModelChunkTest {
    private static final int BS = 16;

    @Test
    void partsOfALongStepGiveWhatOnePassGives() {
        ModelConfig c = ModelConfig.llama(64, 2, 4, 2, 96, 300, 2048);
        for (TensorType type : new TensorType[] {TensorType.F32, TensorType.Q8_0}) {
            try (LlamaModel model = (LlamaModel) RandomModels.load(c, type, 7)) {
                LlamaModel whole = model.withChunk(1 << 20);
                // 490 tokens: two parts of 245 by default, then parts of 7 and of 2;
                // the part boundaries fall inside prompts.
                int[] lens = {150, 300, 40};
                float[][][] expected = twoSteps(whole, lens);
                for (LlamaModel parted : new LlamaModel[] {model, model.withChunk(7), model.withChunk(2)}) {
                    float[][][] got = twoSteps(parted, lens);
                    assertCloseToRounding(got, expected, type);
                }
            }
        }
    }

    /**
     * A step long enough that its K/V writes and residual adds and norms are split over the threads
     * (PagedKvCache.write, LlamaModel.residual) gives on two threads what it gives on one.
     */
    @Test
    void aLongStepGivesOnTwoThreadsWhatItGivesOnOne() {
        ModelConfig c = ModelConfig.llama(256, 2, 4, 4, 384, 300, 2048);
        int threads = Parallel.threads();
        for (TensorType type : new TensorType[] {TensorType.F32, TensorType.Q8_0}) {
            try (LlamaModel model = (LlamaModel) RandomModels.load(c, type, 11)) {
                for (LlamaModel m : new LlamaModel[] {model.withChunk(1 << 20), model}) {
                    int[] lens = {400, 200};
                    Parallel.setThreads(1);
                    float[][][] expected = twoSteps(m, lens);
                    Parallel.setThreads(2);
                    float[][][] got = twoSteps(m, lens);
                    assertCloseToRounding(got, expected, type);
                }
            } finally {
                Parallel.setThreads(threads);
            }
        }
    }

    @Test
    void aPartKeepsEverySequenceWithWhatOfItFallsInTheRange() {
        int[][] tables = {{0}, {1, 2}, {3}};
        ForwardBatch b = new ForwardBatch(new int[] {1, 2, 3, 4, 5, 6}, new int[] {0, 1, 2, 0, 1, 0},
                new int[] {0, 1, 2, 16, 17, 48}, new int[] {0, 3, 5, 6}, tables);
        ForwardBatch p = b.part(2, 3);
        assertThat(p.tokens()).containsExactly(3, 4, 5);
        assertThat(p.positions()).containsExactly(2, 0, 1);
        assertThat(p.slotMapping()).containsExactly(2, 16, 17);
        assertThat(p.queryStart()).containsExactly(0, 1, 3, 3);
        assertThat(p.tokenSequence()).containsExactly(0, 1, 1);
        assertThat(p.blockTables()).isSameAs(tables);
    }

    /** Both steps' logits of every sequence equal to within 1e-5 of the largest logit of its row. */
    private static void assertCloseToRounding(float[][][] got, float[][][] expected, TensorType type) {
        for (int step = 0; step < expected.length; step++) {
            for (int s = 0; s < expected[step].length; s++) {
                float scale = 0;
                for (float v : expected[step][s]) scale = Math.max(scale, Math.abs(v));
                for (int i = 0; i < expected[step][s].length; i++) {
                    assertThat(got[step][s][i]).as("%s, step %d, sequence %d, logit %d", type, step, s, i)
                            .isCloseTo(expected[step][s][i], within(1e-5f * scale));
                }
            }
        }
    }

    /** Prefills the prompts in one step, then decodes one token each: both steps' logits. */
    private static float[][][] twoSteps(LlamaModel m, int[] lens) {
        int seqs = lens.length;
        int[][] tables = new int[seqs][];
        int[] queryStart = new int[seqs + 1];
        int nextBlock = 0, n = 0;
        for (int s = 0; s < seqs; s++) {
            tables[s] = new int[lens[s] / BS + 1];
            // Blocks of different sequences interleaved, as a pool hands them out.
            for (int j = 0; j < tables[s].length; j++) tables[s][j] = (nextBlock++ * 7) % 64;
            n += lens[s];
            queryStart[s + 1] = n;
        }
        int[] toks = new int[n], pos = new int[n], slots = new int[n];
        for (int s = 0, t = 0; s < seqs; s++) {
            for (int p = 0; p < lens[s]; p++, t++) {
                toks[t] = 3 + (t * 37 + s) % 290;
                pos[t] = p;
                slots[t] = tables[s][p / BS] * BS + p % BS;
            }
        }
        PagedKvCache cache = m.newKvCache(64, BS);
        float[][] prefill = copy(m.forward(new ForwardBatch(toks, pos, slots, queryStart, tables), cache));
        int[] dt = new int[seqs], dp = new int[seqs], ds = new int[seqs], dq = new int[seqs + 1];
        for (int s = 0; s < seqs; s++) {
            dt[s] = 10 + s;
            dp[s] = lens[s];
            ds[s] = tables[s][dp[s] / BS] * BS + dp[s] % BS;
            dq[s + 1] = s + 1;
        }
        float[][] decode = copy(m.forward(new ForwardBatch(dt, dp, ds, dq, tables), cache));
        return new float[][][] {prefill, decode};
    }

    private static float[][] copy(float[][] rows) {
        float[][] out = new float[rows.length][];
        for (int i = 0; i < rows.length; i++) out[i] = rows[i].clone();
        return out;
    }
}
