package io.quire.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.backend.cpu.Parallel;
import io.quire.engine.EngineConfig;
import io.quire.engine.LLMEngine;
import io.quire.engine.RequestOutput;
import io.quire.engine.SamplingParams;
import io.quire.engine.SequenceDelta;
import io.quire.model.LanguageModel;
import io.quire.model.ModelLoader;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * {@code generate --model PATH|dummy --prompt TEXT [--max-tokens N] [--temperature T] [--top-p P]
 * [--top-k K] [--seed S] [--threads N] [--token-ids true] [--ban-tokens FROM-TO] [--warmup N]}: runs one
 * request through the same engine the server uses and streams only the generated text to stdout (then a
 * newline), or with {@code --token-ids true} prints the prompt's and the output's token ids as one JSON
 * object. Temperature 0 is greedy. {@code --warmup N} runs the request N times unseen first, so that the
 * one shown runs on C2-compiled kernels (docs/performance.md, "Determinism and the JIT").
 */
public final class GenerateCommand {
    private GenerateCommand() {}

    public static int run(String[] args) {
        Args a = new Args(args, 1);
        String modelSpec = a.require("--model");
        String prompt = a.require("--prompt");
        int maxTokens = Integer.parseInt(a.get("--max-tokens", "128"));
        float temperature = Float.parseFloat(a.get("--temperature", "0"));
        SamplingParams defaults = SamplingParams.defaults(maxTokens).withTemperature(temperature);
        java.util.Map<Integer, Float> bias = new java.util.HashMap<>(defaults.logitBias());
        // --ban-tokens 3-258: OpenAI's strongest logit bias (-100) on a range of ids, e.g. to keep a random
        // model off byte tokens when comparing with a server that cannot return invalid UTF-8.
        String ban = a.get("--ban-tokens", null);
        if (ban != null) {
            String[] range = ban.split("-", 2);
            int from = Integer.parseInt(range[0].trim()), to = Integer.parseInt(range[range.length - 1].trim());
            for (int id = from; id <= to; id++) bias.put(id, -100f);
        }
        SamplingParams params = new SamplingParams(1, temperature, Float.parseFloat(a.get("--top-p", "1")),
                Integer.parseInt(a.get("--top-k", "-1")), defaults.minP(), 0f, 0f, 1f,
                a.get("--seed", null) == null ? null : Long.parseLong(a.get("--seed", null)),
                defaults.stop(), defaults.stopTokenIds(), false, maxTokens, 0, false, bias, null, true);
        if (a.get("--threads", null) != null) Parallel.setThreads(Integer.parseInt(a.get("--threads", null)));
        boolean tokenIds = Boolean.parseBoolean(a.get("--token-ids", "false"));
        int warmup = Integer.parseInt(a.get("--warmup", "0"));

        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        try (LanguageModel<?> model = ModelLoader.load(modelSpec)) {
            int[] ids = model.tokenizer().encode(prompt, true, false);
            int bs = EngineConfig.DEFAULT_BLOCK_SIZE;
            long kvBytes = EngineConfig.kvBytesFor(model, bs, (ids.length + maxTokens) / bs + 2);
            int maxModelLen = Math.min(model.config().contextLength(), ids.length + maxTokens);
            EngineConfig config = EngineConfig.defaults(kvBytes).withMaxModelLen(maxModelLen);
            try (LLMEngine engine = new LLMEngine(model, config, new SimpleMeterRegistry())) {
                for (int i = 0; i < warmup; i++) engine.generate("warmup-" + i, ids, params).blockLast();
                if (tokenIds) {
                    // Prompt and output as token ids (JSON), to compare with another engine id for id.
                    java.util.List<Integer> generated = new java.util.ArrayList<>();
                    engine.generate("cli", ids, params).doOnNext(o -> {
                        for (SequenceDelta d : o.deltas()) for (int t : d.tokenIds()) generated.add(t);
                    }).blockLast();
                    out.print("{\"prompt\":" + java.util.Arrays.toString(ids).replace(" ", "") + ",\"tokens\":"
                            + generated.toString().replace(" ", "") + "}");
                } else {
                    engine.generate("cli", ids, params).doOnNext(o -> print(out, o)).blockLast();
                }
            }
            out.println();
            out.flush();
            return 0;
        } catch (java.io.IOException | RuntimeException e) {
            out.flush();
            System.err.println("quire generate: " + e.getMessage());
            return 1;
        }
    }

    private static void print(PrintStream out, RequestOutput o) {
        for (SequenceDelta d : o.deltas()) out.print(d.text());
        out.flush();
    }
}
