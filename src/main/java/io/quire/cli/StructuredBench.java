package io.quire.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.backend.TensorType;
import io.quire.engine.EngineConfig;
import io.quire.engine.LLMEngine;
import io.quire.engine.RequestOutput;
import io.quire.engine.SamplingParams;
import io.quire.engine.structured.ConstraintCompiler;
import io.quire.engine.structured.ConstraintSpec;
import io.quire.engine.structured.TokenVocabulary;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.RandomModels;
import io.quire.model.tokenizer.Tokenizer;
import reactor.core.publisher.Flux;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What constrained decoding costs: the same batch of requests through the engine with and without
 * a JSON Schema constraint, alternated (free, constrained, free, constrained...) so drift on a
 * noisy machine hits both, with the ratio of their tokens/s; and the compile time of a large
 * schema. Every request runs to {@code --tokens} tokens (ignore_eos), so both decode the same
 * number of steps at the same batch size.
 *
 * <pre>java --add-modules jdk.incubator.vector -jar target/quire-*.jar bench structured \
 *     [--model 110m|dummy] [--batches 1,32] [--tokens 32] [--rounds 2]</pre>
 */
public final class StructuredBench {
    /** The constrained requests' schema: nested objects, an enum, an array, bounded integers, a format. */
    static final String SCHEMA = """
            {"type":"object","properties":{"id":{"type":"string","format":"uuid"},
             "status":{"enum":["new","paid","shipped"]},"customer":{"type":"object","properties":{
             "name":{"type":"string"},"email":{"type":"string"}},"required":["name","email"]},
             "items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},
             "qty":{"type":"integer","minimum":1,"maximum":99}},"required":["sku","qty"]}},
             "note":{"type":"string"}},"required":["id","status","customer","items"]}""";

    private StructuredBench() {}

    public static int run(String[] args) {
        Args a = new Args(args, 2);
        String which = a.get("--model", "110m");
        ModelConfig config = switch (which) {
            case "110m" -> RandomModels.LLAMA_110M;
            case "dummy" -> RandomModels.DEFAULT;
            default -> throw new IllegalArgumentException("--model must be 110m or dummy, got " + which);
        };
        List<Integer> batches = a.ints("--batches", "1,32");
        int tokens = Integer.parseInt(a.get("--tokens", "32"));
        int rounds = Integer.parseInt(a.get("--rounds", "2"));
        try (LanguageModel<?> model = RandomModels.load(config, TensorType.F32, 42)) {
            compileTimes(model.tokenizer());
            maskCost(model.tokenizer());
            int maxSeqs = batches.stream().mapToInt(Integer::intValue).max().orElse(1);
            EngineConfig ec = new EngineConfig(EngineConfig.DEFAULT_BLOCK_SIZE, EngineConfig.KV_CACHE_AUTO, maxSeqs,
                    EngineConfig.DEFAULT_MAX_NUM_BATCHED_TOKENS, 0);
            try (LLMEngine engine = new LLMEngine(model, ec, new SimpleMeterRegistry())) {
                SamplingParams free = SamplingParams.defaults(tokens).withIgnoreEos(true);
                SamplingParams json = free.withConstraint(new ConstraintSpec.JsonSchema(SCHEMA));
                run(engine, 2, free, tokens, "warm"); // JIT, and the constraint's first masks
                run(engine, 2, json, tokens, "warm");
                System.out.printf(Locale.ROOT, "%nrandom Llama %s, F32, %d output tokens per request, temperature 1%n",
                        which, tokens);
                System.out.printf(Locale.ROOT, "%6s %6s %14s %14s %8s%n", "batch", "round", "free tok/s", "json tok/s",
                        "ratio");
                for (int b : batches) {
                    double sumRatio = 0;
                    for (int r = 1; r <= rounds; r++) {
                        // A B, then B A: whatever the order does cancels out over two rounds.
                        double f, j;
                        if (r % 2 == 1) {
                            f = run(engine, b, free, tokens, "free");
                            j = run(engine, b, json, tokens, "json");
                        } else {
                            j = run(engine, b, json, tokens, "json");
                            f = run(engine, b, free, tokens, "free");
                        }
                        sumRatio += j / f;
                        System.out.printf(Locale.ROOT, "%6d %6d %14.1f %14.1f %8.3f%n", b, r, f, j, j / f);
                    }
                    if (rounds > 0) {
                        System.out.printf(Locale.ROOT, "%6d %6s %14s %14s %8.3f  (constrained/free, mean of rounds)%n",
                                b, "mean", "", "", sumRatio / rounds);
                    }
                }
            }
        }
        return 0;
    }

    /** Tokens/s of {@code batch} requests submitted together, each decoding {@code tokens} tokens. */
    private static double run(LLMEngine engine, int batch, SamplingParams params, int tokens, String tag) {
        int[] prompt = engine.tokenizer().encode("Write the order as JSON:");
        List<Flux<RequestOutput>> fluxes = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < batch; i++) {
            fluxes.add(engine.generate(tag + "-" + System.nanoTime() + "-" + i, prompt, params.withSeed((long) i)));
        }
        long produced = 0;
        for (Flux<RequestOutput> f : fluxes) {
            for (RequestOutput o : f.collectList().block()) produced += o.deltas().getFirst().tokenIds().length;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (produced != (long) batch * tokens) {
            throw new IllegalStateException("expected " + batch * tokens + " tokens, got " + produced);
        }
        return produced / seconds;
    }

    /**
     * The masking work alone, without the model: a walk through the bench schema with uniformly
     * random allowed tokens, timing only the mask of each step (cached states: the steady state).
     */
    private static void maskCost(Tokenizer tokenizer) {
        ConstraintCompiler compiler = new ConstraintCompiler(tokenizer);
        var constraint = compiler.compile(new ConstraintSpec.JsonSchema(SCHEMA));
        float[] logits = new float[tokenizer.vocabSize()], out = new float[tokenizer.vocabSize()];
        java.util.Random random = new java.util.Random(1);
        int[] allowed = new int[tokenizer.vocabSize()];
        long masked = 0, steps = 0;
        for (int pass = 0; pass < 2; pass++) { // the first pass fills the caches and JITs
            masked = 0;
            steps = 0;
            for (int walk = 0; walk < 200; walk++) {
                var state = new io.quire.engine.structured.ConstraintState(constraint);
                for (int i = 0; i < 64; i++) {
                    long t = System.nanoTime();
                    state.mask(logits, out, 64 - i);
                    masked += System.nanoTime() - t;
                    steps++;
                    int n = 0;
                    for (int id = 0; id < out.length; id++) if (out[id] != Float.NEGATIVE_INFINITY) allowed[n++] = id;
                    int token = allowed[random.nextInt(n)];
                    if (tokenizer.endOfGenerationIds().contains(token)) break;
                    state.advance(token);
                }
            }
        }
        System.out.printf(Locale.ROOT, "mask per token (vocabulary %d, bench schema, cached states): %.1f us%n",
                tokenizer.vocabSize(), masked / 1e3 / steps);
    }

    /** Cold compile time (parse, automaton, first state) of the bench schema and of a large one, median of 5. */
    private static void compileTimes(Tokenizer tokenizer) {
        long t0 = System.nanoTime();
        new ConstraintCompiler(tokenizer).compile(new ConstraintSpec.Regex("x")); // builds the vocabulary trie once
        long t1 = System.nanoTime();
        new TokenVocabulary(tokenizer);
        System.out.printf(Locale.ROOT, "first constraint of an engine (vocabulary trie of %d tokens, class loading): "
                + "%.1f ms; the trie again: %.1f ms%n", tokenizer.vocabSize(), (t1 - t0) / 1e6, (System.nanoTime() - t1) / 1e6);
        for (int k = 0; k < 3; k++) { // JIT warm-up
            new ConstraintCompiler(tokenizer).compile(new ConstraintSpec.JsonSchema(LargeSchema.TEXT));
        }
        for (String[] s : new String[][] {{"bench schema", SCHEMA}, {"large schema", LargeSchema.TEXT}}) {
            double[] ms = new double[5];
            for (int i = 0; i < ms.length; i++) {
                ConstraintCompiler c = new ConstraintCompiler(tokenizer);
                c.compile(new ConstraintSpec.Regex("x"));
                long t = System.nanoTime();
                c.compile(new ConstraintSpec.JsonSchema(s[1]));
                ms[i] = (System.nanoTime() - t) / 1e6;
            }
            java.util.Arrays.sort(ms);
            System.out.printf(Locale.ROOT, "compile %s (%,d chars): median %.1f ms (min %.1f, max %.1f)%n", s[0],
                    s[1].length(), ms[2], ms[0], ms[4]);
        }
    }
}
