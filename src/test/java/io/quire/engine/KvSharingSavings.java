package io.quire.engine;

import io.quire.backend.TensorType;
import io.quire.kv.KvCacheManager;
import io.quire.model.LanguageModel;
import io.quire.model.ModelLoader;
import io.quire.model.RandomModels;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * KV memory saved by block sharing inside one request (not a test): parallel sampling with
 * n = 2, 4, 6 and beam search with widths 2, 4, 6 on the 110M random Llama. After every engine
 * step it counts the distinct blocks in use (with sharing) and the sum over the request's live
 * sequences of the blocks in their tables (what each would hold on its own, without sharing),
 * and reports both at their peak. Prefix caching is off so that only sharing within the request
 * counts. Arguments: prompt length (256), output tokens (128), block size (16), weight type of the
 * random model (Q8_0) or the path of a GGUF model to use instead (e.g. stories260K).
 *
 * <pre>
 * ./mvnw -q -o test-compile
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes:$(cat cp.txt) \
 *      io.quire.engine.KvSharingSavings 256 128
 * </pre>
 * ({@code cp.txt} from {@code ./mvnw -q -o dependency:build-classpath -Dmdep.outputFile=cp.txt}).
 */
public final class KvSharingSavings {

    record Peak(int withSharing, int withoutSharing) {
        double saved() { return 1 - (double) withSharing / withoutSharing; }
    }

    public static void main(String[] args) throws Exception {
        int promptLen = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int maxTokens = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int blockSize = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        String spec = args.length > 3 ? args[3] : "Q8_0";
        boolean file = spec.endsWith(".gguf");
        Random rnd = new Random(1);
        try (LanguageModel<?> model = file ? ModelLoader.load(Path.of(spec))
                : RandomModels.load(RandomModels.LLAMA_110M, TensorType.valueOf(spec), 110)) {
            int[] prompt = new int[promptLen];
            prompt[0] = 1;
            for (int i = 1; i < promptLen; i++) prompt[i] = 3 + rnd.nextInt(model.config().vocabSize() - 3);
            int numBlocks = 2 * 6 * ((promptLen + maxTokens + blockSize - 1) / blockSize);
            TestEngines.Builder engine = TestEngines.with(model).blocks(numBlocks, blockSize).maxNumSeqs(16)
                    .maxNumBatchedTokens(2048).maxModelLen(promptLen + maxTokens).prefixCaching(false);
            List<String> rows = new ArrayList<>();
            for (boolean beam : new boolean[]{false, true}) {
                for (int width : new int[]{2, 4, 6}) {
                    SamplingParams p = SamplingParams.defaults(maxTokens).withSeed(7L).withIgnoreEos(true)
                            .withN(width, null);
                    if (beam) p = p.withBeamSearch(1f);
                    long t0 = System.nanoTime();
                    Peak peak = measure(engine, prompt, p);
                    rows.add(String.format("| %-16s | %5d | %13d | %16d | %6.1f%% | %5.1fs |",
                            (beam ? "beam width " : "n = ") + width, width, peak.withSharing(), peak.withoutSharing(),
                            100 * peak.saved(), (System.nanoTime() - t0) / 1e9));
                    System.err.println(rows.getLast());
                }
            }
            System.out.printf("KV blocks at the peak, %s, prompt %d tokens, %d output tokens (ignore_eos), "
                    + "block size %d%n%n",
                    file ? spec : "110M random Llama (" + spec + ")", promptLen, maxTokens, blockSize);
            System.out.println("| request          | seqs  | with sharing  | without sharing  | saved   | time   |");
            System.out.println("|------------------|-------|---------------|------------------|---------|--------|");
            rows.forEach(System.out::println);
        }
    }

    /**
     * Runs one request alone and returns the peaks of distinct blocks in use and of the sum of the
     * sequences' table sizes.
     */
    static Peak measure(TestEngines.Builder engine, int[] prompt, SamplingParams p) {
        try (LLMEngine e = engine.build()) {
            int[] peaks = new int[2];
            e.addKvReportListener(report -> {
                // On the engine thread, right after each step.
                KvCacheManager kv = e.kvCacheManager();
                int own = 0;
                for (Sequence s : e.scheduler().running()) own += kv.numBlocks(s.seqId());
                peaks[0] = Math.max(peaks[0], kv.numUsedBlocks());
                peaks[1] = Math.max(peaks[1], own);
            });
            List<RequestOutput> outs = e.generate("r", prompt, p).collectList().block();
            if (outs == null || !outs.getLast().finished()) {
                throw new IllegalStateException("the request did not finish");
            }
            if (e.stats().numPreemptions() != 0) throw new IllegalStateException("preempted: the peak would be wrong");
            return new Peak(peaks[0], peaks[1]);
        }
    }
}
