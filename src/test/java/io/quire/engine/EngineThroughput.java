package io.quire.engine;

import io.quire.backend.TensorType;
import io.quire.model.LanguageModel;
import io.quire.model.ModelLoader;
import io.quire.model.RandomModels;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Offline throughput of the engine (not a test): {@code N} concurrent greedy requests of random
 * prompts, reporting generated tokens per second. Arguments: model (a GGUF path or "dummy"),
 * requests, prompt length, output tokens.
 */
public final class EngineThroughput {
    public static void main(String[] args) throws Exception {
        String spec = args.length > 0 ? args[0] : "dummy";
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int promptLen = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int outLen = args.length > 3 ? Integer.parseInt(args[3]) : 128;
        try (LanguageModel<?> model = spec.equals("dummy") ? RandomModels.load(RandomModels.DEFAULT, TensorType.F32, 0)
                : ModelLoader.load(Path.of(spec))) {
            for (int round = 0; round < 2; round++) { // the first round warms the JIT up
                LLMEngine engine = TestEngines.with(model).kvCacheBytes(1L << 30)
                        .maxModelLen(Math.min(model.config().contextLength(), promptLen + outLen)).build();
                Random rnd = new Random(round);
                List<Mono<List<RequestOutput>>> all = new ArrayList<>();
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    int[] p = new int[promptLen];
                    p[0] = 1;
                    for (int j = 1; j < promptLen; j++) p[j] = 3 + rnd.nextInt(model.config().vocabSize() - 3);
                    SamplingParams sp = new SamplingParams(1, 0f, 1f, -1, 0f, 0f, 0f, 1f, null, List.of(), List.of(),
                            false, outLen, 0, true, Map.of(), null, true);
                    all.add(engine.generate("r" + i, p, sp).collectList());
                }
                List<List<RequestOutput>> res = Flux.merge(all).collectList().block();
                double s = (System.nanoTime() - t0) / 1e9;
                long gen = res.stream().mapToLong(l -> l.getLast().completionTokens()).sum();
                System.out.printf("round %d: %d requests x (%d prompt + %d output) in %.2f s: %.1f output tok/s,"
                                + " %.1f total tok/s, preemptions %d%n", round, n, promptLen, outLen, s, gen / s,
                        (gen + (long) n * promptLen) / s, engine.stats().numPreemptions());
                engine.shutdown();
            }
        }
    }
}
