package io.quire.engine;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Time to sample a batch of 32 rows (not a test): {@link Sampler} against the full-sort sampler it
 * replaced ({@link FullSortSampler}), side by side in one JVM, for vocabularies of 150,000 and
 * 32,000 tokens and the usual parameters (temperature 0.8, top_p 0.95, top_k 40 or none, logprobs
 * 5 or none; temperature alone and greedy for comparison). Every configuration is warmed up first,
 * then timed in round-robin repeats (old and new one after the other, in alternating order, so
 * that a burst of load from elsewhere hits both) and the medians are compared. Each row gets a
 * fresh copy of its logits before the timed batch (the old sampler changes them) and a fresh
 * seeded generator, so both samplers draw from the same state; their tokens are compared too.
 *
 * <p>Logits: "peaked" rows are Gaussian (sigma 2) with 20 tokens raised by 5 to 15, a language
 * model's shape, where top_p keeps a few tokens; "flat" rows are Gaussian with sigma 1, where
 * top_p 0.95 keeps most of the vocabulary (the new sampler's worst case: it then orders most of it).
 *
 * <pre>
 * ./mvnw -q -o test-compile
 * java -cp target/classes:target/test-classes io.quire.engine.SamplerBench [repeats 7] [vocabs 150000,32000]
 * </pre>
 */
public final class SamplerBench {
    private static final int BATCH = 32;

    private record Params(String name, SamplingParams p) {}

    private static final class Config {
        final int vocab;
        final String shape;
        final Params params;
        final float[][] rows;
        final double[] oldTimes, newTimes;
        int[] oldTokens, newTokens;
        double kept;

        Config(int vocab, String shape, Params params, float[][] rows, int repeats) {
            this.vocab = vocab;
            this.shape = shape;
            this.params = params;
            this.rows = rows;
            this.oldTimes = new double[repeats];
            this.newTimes = new double[repeats];
        }
    }

    public static void main(String[] args) {
        int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        int[] vocabs = args.length > 1 ? Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {150_000, 32_000};
        List<Params> params = List.of(
                new Params("T0.8 top_p0.95 top_k40 logprobs5", params(0.95f, 40, 5)),
                new Params("T0.8 top_p0.95 logprobs5", params(0.95f, -1, 5)),
                new Params("T0.8 top_p0.95 top_k40", params(0.95f, 40, null)),
                new Params("T0.8 top_p0.95", params(0.95f, -1, null)),
                new Params("T0.8 (no top_p/top_k)", params(1f, -1, null)),
                new Params("greedy", SamplingParams.greedy(16)));
        List<Config> configs = new ArrayList<>();
        Random rnd = new Random(1);
        for (int vocab : vocabs) {
            for (String shape : List.of("peaked", "flat")) {
                float[][] rows = new float[BATCH][];
                for (int r = 0; r < BATCH; r++) rows[r] = logits(rnd, vocab, shape.equals("peaked"));
                for (Params p : params) {
                    if (shape.equals("flat") && p.p().greedy()) continue;
                    configs.add(new Config(vocab, shape, p, rows, repeats));
                }
            }
        }
        var os = ManagementFactory.getOperatingSystemMXBean();
        System.out.printf("sampler: batch %d, %d processors, median of %d repeats, ms per batch%n", BATCH,
                Runtime.getRuntime().availableProcessors(), repeats);
        System.out.printf("system load average before: %.2f%n", os.getSystemLoadAverage());
        Sampler sampler = new Sampler();
        FullSortSampler reference = new FullSortSampler();
        float[][] work = new float[BATCH][];
        for (Config c : configs) {
            long end = System.nanoTime() + 1_000_000_000L;
            for (int i = 0; i < 3 || System.nanoTime() < end; i++) {
                c.oldTokens = batch(c, work, null, reference);
                c.newTokens = batch(c, work, sampler, null);
            }
            c.kept = keptTokens(c);
        }
        for (int r = 0; r < repeats; r++) {
            for (Config c : configs) {
                // which one goes first alternates, so that neither always finds the caches as the other left them
                for (int which = 0; which < 2; which++) {
                    boolean old = (which + r) % 2 == 0;
                    copy(c, work);
                    long t0 = System.nanoTime();
                    int[] tokens = old ? run(c, work, null, reference) : run(c, work, sampler, null);
                    (old ? c.oldTimes : c.newTimes)[r] = (System.nanoTime() - t0) / 1e6;
                    if (!Arrays.equals(tokens, old ? c.oldTokens : c.newTokens)) {
                        throw new AssertionError("a seeded batch drew different tokens on a rerun");
                    }
                }
            }
        }
        System.out.printf("system load average after: %.2f (above the core count, other processes shared the cores)%n",
                os.getSystemLoadAverage());
        System.out.printf("%-7s %-6s %-34s %9s %9s %7s %9s %9s %7s %s%n", "vocab", "logits", "params", "old ms",
                "new ms", "ratio", "old best", "new best", "kept", "same tokens");
        for (Config c : configs) {
            double o = median(c.oldTimes), n = median(c.newTimes);
            System.out.printf("%-7d %-6s %-34s %9.2f %9.2f %6.1fx %9.2f %9.2f %7.0f %s%n", c.vocab, c.shape,
                    c.params.name(), o, n, o / n, min(c.oldTimes), min(c.newTimes), c.kept,
                    Arrays.equals(c.oldTokens, c.newTokens) ? "yes" : "NO");
        }
        boolean same = configs.stream().allMatch(c -> Arrays.equals(c.oldTokens, c.newTokens));
        System.exit(same ? 0 : 1);
    }

    private static SamplingParams params(float topP, int topK, Integer logprobs) {
        return new SamplingParams(1, 0.8f, topP, topK, 0f, 0f, 0f, 1f, null, List.of(), List.of(), false, 16, 0,
                false, Map.of(), logprobs, true);
    }

    private static float[] logits(Random rnd, int vocab, boolean peaked) {
        float[] x = new float[vocab];
        for (int i = 0; i < vocab; i++) x[i] = (float) rnd.nextGaussian() * (peaked ? 2 : 1);
        if (peaked) for (int j = 0; j < 20; j++) x[rnd.nextInt(vocab)] += 5 + 10 * rnd.nextFloat();
        return x;
    }

    private static int[] batch(Config c, float[][] work, Sampler sampler, FullSortSampler reference) {
        copy(c, work);
        return run(c, work, sampler, reference);
    }

    private static void copy(Config c, float[][] work) {
        for (int r = 0; r < BATCH; r++) {
            if (work[r] == null || work[r].length != c.vocab) work[r] = new float[c.vocab];
            System.arraycopy(c.rows[r], 0, work[r], 0, c.vocab);
        }
    }

    /** Samples every row, each with a generator seeded by its row number. */
    private static int[] run(Config c, float[][] work, Sampler sampler, FullSortSampler reference) {
        int[] tokens = new int[BATCH];
        Set<Integer> suppress = Set.of();
        int[] prompt = {0};
        for (int r = 0; r < BATCH; r++) {
            SamplingState state = new SamplingState((long) r, prompt);
            Sampler.Sample s = sampler != null ? sampler.sample(work[r], c.params.p(), state, suppress)
                    : reference.sample(work[r], c.params.p(), state, suppress);
            tokens[r] = s.tokenId();
        }
        return tokens;
    }

    /** The mean number of tokens top_k and top_p leave per row (the vocabulary when neither applies). */
    private static double keptTokens(Config c) {
        SamplingParams p = c.params.p();
        if (p.greedy()) return 1;
        double total = 0;
        for (float[] row : c.rows) {
            double[] probs = new double[row.length];
            float max = Float.NEGATIVE_INFINITY;
            for (float v : row) max = Math.max(max, v * (1f / p.temperature()));
            for (int i = 0; i < row.length; i++) probs[i] = Math.exp(row[i] * (1f / p.temperature()) - max);
            double[] sorted = probs.clone();
            Arrays.sort(sorted);
            int k = p.topK() > 0 ? Math.min(p.topK(), row.length) : row.length;
            double mass = 0;
            for (int j = 0; j < k; j++) mass += sorted[row.length - 1 - j];
            double cum = 0;
            int keep = 0;
            while (keep < k && cum < p.topP() * mass) cum += sorted[row.length - 1 - keep++];
            total += keep;
        }
        return total / c.rows.length;
    }

    private static double median(double[] times) {
        double[] t = times.clone();
        Arrays.sort(t);
        return t[t.length / 2];
    }

    private static double min(double[] times) {
        return Arrays.stream(times).min().orElse(Double.NaN);
    }
}
