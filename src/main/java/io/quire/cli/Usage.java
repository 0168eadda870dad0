package io.quire.cli;

import io.quire.cli.bench.BenchOptions;

import java.util.Map;

/**
 * The jar's help texts: {@code quire --help} (the server and every command) and
 * {@code quire COMMAND --help}. {@code quire} stands for
 * {@code java --add-modules jdk.incubator.vector -jar quire.jar}. Options and defaults are the ones
 * each command parses; the server's settings are {@code application.yml}'s.
 */
final class Usage {
    private Usage() {}

    static final String SERVER = """
            usage: quire [--KEY=VALUE ...]       start the OpenAI-compatible HTTP server
                   quire COMMAND [OPTIONS]       run a tool (no server), see below
                   quire [COMMAND] --help | -h   this text, or one command's options
              where quire = java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \\
                            -jar quire.jar    (Java 25)

            Server settings are Spring Boot properties: --KEY=VALUE on the command line, or environment
            variables (QUIRE_MODEL=..., SERVER_PORT=...). The main ones:
              --quire.model=PATH|Org/Name|dummy   GGUF file or Hugging Face model folder to serve, or a Hub model id
                                                  downloaded first; dummy: the built-in random model (default dummy)
              --quire.model-file=NAME             which GGUF file of a Hub repository holding several
              --quire.served-model-name=NAME      the name clients send in "model" (default: the file name
                                                  without .gguf, quire-dummy for dummy)
              --server.port=PORT                  HTTP port (default 8000)
              --quire.kv-cache-memory=SIZE        memory for the KV block pool, e.g. 4GB, obeyed exactly (default 0:
                                                  max-num-seqs x max-model-len tokens' worth, at most 512MB)
              --quire.max-model-len=N             most prompt + output tokens per request, 0: the model's (default 0)
              --quire.max-num-seqs=N              most requests in one engine step (default 64)
              --quire.max-num-batched-tokens=N    most tokens in one engine step (default 2048)
              --quire.threads=N                   CPU compute threads, 0: all cores (default 0)
              --quire.device=auto|cpu|cuda        where the model runs (default auto)
              --quire.api-key=KEY[,KEY...]        require "Authorization: Bearer KEY" (default: none, open)
            Every setting, with its meaning and default: application.yml (src/main/resources/ in the source
            tree, BOOT-INF/classes/ in the jar) and docs/configuration.md.
            """;

    static final String GENERATE = """
            usage: quire generate --model PATH|dummy --prompt TEXT [options]
              runs one request through the server's engine and prints only the generated text
              --model PATH|dummy     a GGUF file or Hugging Face model folder, or dummy for the random model
              --prompt TEXT          the prompt (BOS added when the model wants one)
              --max-tokens N         tokens to generate (default 128)
              --temperature T        0 is greedy (default 0)
              --top-p P              (default 1)
              --top-k K              -1: all tokens (default -1)
              --seed S               sampling seed (default: unseeded)
              --threads N            compute threads (default: all cores)
              --token-ids true       print {"prompt":[ids],"tokens":[ids]} instead of the text
              --ban-tokens FROM-TO   logit bias -100 on the token ids FROM..TO (inclusive)
              --warmup N             run the request N times unseen first (C2-compiled kernels)
            """;

    static final String TOKENIZE = """
            %s
              prints the token ids of TEXT as a JSON array (BOS included when the model adds one);
              only the GGUF metadata is read, so vocabulary-only files work; a Hugging Face model folder
              is tokenized with its tokenizer.json
            """.formatted(TokenizeCommand.USAGE.replace("usage: ", "usage: quire "));

    static final String PULL = """
            %s
              downloads a Hugging Face model repository into the shared cache (HF_HOME, default
              ~/.cache/huggingface/hub), resuming a stopped download and checking each file's size and
              SHA-256 (Git blob id for small files); prints the snapshot folder (the file with --file)
              --file NAME            one file, e.g. the GGUF file to serve
              --include GLOB         only the files that match (repeatable), e.g. '*.json'
              neither: the whole repository (a repository with several GGUF files needs --file); for a
              safetensors checkpoint without GGUF files only what Quire loads (config, tokenizer and
              generation files, model.safetensors or the index and its shards)
              environment: HF_TOKEN (private or gated repositories), HF_ENDPOINT (a mirror),
                           HF_HUB_OFFLINE=1 (no network: only what the cache holds)
            """.formatted(PullCommand.USAGE.replace("usage: ", "usage: quire "));

    static final String RANDOM_MODEL = """
            usage: quire random-model --out PATH [options]
              writes a random-weight Llama as a GGUF file (for benchmarks, or to load the same weights elsewhere)
              --out PATH                      the file to write
              --preset default|110m           the dummy model's shape (4 layers, dim 256, vocabulary 4096), or
                                              a 110M Llama (12 layers, dim 768, vocabulary 32000); default: default
              --vocab N                       another vocabulary size (512 with --preset 110m: the 86M benchmark model)
              --type F32|F16|BF16|Q8_0|Q4_0   weight type (default F32)
              --seed N                        (default 0)
            """;

    static final String BENCH_KERNELS = """
            usage: quire bench kernels [options]
              GFLOP/s and GB/s of the CPU matrix kernels per weight type, batch and thread count
              --rows N, --cols N           matrix shape; cols a multiple of 256 (default 2048, 768)
              --repeats N                  timed repeats, the median reported (default 7)
              --types LIST                 any computable type, e.g. Q4_K,Q6_K (default F32,F16,BF16,Q8_0,Q4_0)
              --batches LIST               (default 1,32)
              --threads LIST               (default 1 and all cores)
            """;

    static final String BENCH_ATTENTION = """
            usage: quire bench attention [options]
              decode attention alone: one new token per sequence over a paged KV cache of shuffled blocks,
              milliseconds per layer and the GB/s of K and V read, per cache type, block size and thread count
              --seqs N                     sequences (default 32)
              --context N                  positions each sequence attends to (default 512)
              --heads N, --kv-heads N      query and KV heads (default 12, 12)
              --head-dim N                 (default 64)
              --kv-cache-dtype LIST        float32, float16, fp8 (fp8_e4m3), fp8_e5m2 (default float32,float16)
              --block-size LIST            tokens per block (default 16)
              --threads LIST               (default 1 and all cores)
              --repeats N                  timed passes after as many warm-up ones, the median reported (default 20)
            """;

    static final String BENCH_DECODE = """
            usage: quire bench decode [options]
              decode tokens/s of a random 110M Llama through the paged KV cache, no scheduler or HTTP
              --model PATH                 a GGUF file instead of the random model
              --types LIST                 weight types of the random model (default F32,Q8_0,Q4_0)
              --batches LIST               sequences decoded together (default 1,32)
              --threads LIST               (default 1 and all cores)
              --steps N                    timed decode steps per run (default 32)
              --prompt N                   prompt tokens per sequence (default 16)
              --kv-cache-dtype LIST        KV cache types, auto, float32, float16, fp8 (fp8_e4m3), fp8_e5m2
                                           (default auto: float16 for quantized weights, else float32)
              --warmup-seconds S           untimed runs of each configuration first, so that the JIT has
                                           compiled the kernels (default 3)
              --lora PATH                  a LoRA adapter for the model (PEFT folder or GGUF adapter): each
                                           configuration runs without it, then with it on every sequence
            """;

    static final String BENCH_PREFILL = """
            usage: quire bench prefill [options]
              milliseconds to prefill one prompt in one forward pass (a long prompt's time to first token in
              the model), median and fastest of the timed passes, no scheduler or HTTP
              --model PATH                 a GGUF file instead of the random 110M Llama
              --types LIST                 weight types of the random model (default F32)
              --prompt LIST                prompt lengths in tokens (default 500)
              --threads LIST               (default 1 and all cores)
              --repeats N                  timed passes after the warm-up passes (default 5)
              --kv-cache-dtype LIST        KV cache types, auto, float32, float16, fp8 (fp8_e4m3), fp8_e5m2
                                           (default auto: float16 for quantized weights, else float32)
              --warmup-seconds S           untimed passes of each configuration first, at least two, so
                                           that the JIT has compiled the kernels (default 5)
            """;

    static final String BENCH_STRUCTURED = """
            usage: quire bench structured [options]
              tokens/s of the engine with a JSON Schema constraint against without one (alternating runs, ratio),
              and the compile time of a large schema
              --model 110m|dummy           the random model (default 110m)
              --batches LIST               requests decoded together (default 1,32)
              --tokens N                   output tokens per request (default 32)
              --rounds N                   free/constrained pairs per batch size (default 2)
            """;

    static final String BENCH_PROFILE = """
            usage: quire bench profile FILE.jfr
              where a Java Flight Recording of the server spent its CPU samples (matrix products, attention,
              sampling, scheduling, HTTP/SSE, ...) and its GC pauses
            """;

    static final String BENCH_KV = """
            usage: quire bench kv [options]
              KV memory of paging against Orca's reservations (Max, Pow2, Oracle), one trace through the engine
              --model small|110m|dummy|PATH          (default small: random Llama dim 256, 4 layers)
              --weights F32|Q8_0|Q4_0                random model weight type (default F32)
              --policies LIST                        (default PAGED,ORCA_MAX,ORCA_POW2,ORCA_ORACLE)
              --num-requests N, --seed S             (default 200, 0)
              --dataset sharegpt-like|uniform        (default sharegpt-like)
              --length-scale X                       multiplies the ShareGPT-like means (default 0.5)
              --input-len MIN:MAX, --output-len MIN:MAX  uniform lengths (default 16:128, 16:256)
              --request-rate R|inf                   Poisson arrivals in req/s, inf: all at once (default inf)
              --max-model-len N                      (default 1024)
              --kv-blocks N, --block-size N          the KV budget (default 512 blocks of 16 tokens)
              --max-num-seqs N, --max-num-batched-tokens N  (default 256, 2048)
              --preemption-mode auto|recompute|swap  (default auto)
              --swap-blocks N                        (default 0)
              --threads N                            (default: all cores)
              --warmup-requests N                    untimed paged run first (default 32)
              --json FILE                            also write the results as JSON
            """;

    static final String BENCH_SERVE = "usage: quire " + BenchOptions.USAGE.substring("usage: ".length());

    static final String CUDA_CHECK = """
            usage: quire cuda-check [options]
              the GPU acceptance run: kernels against the CPU backend, NVRTC, attention bandwidth,
              throughput of a 1B random Llama, stories260K on GPU and CPU; exit 0 all passed, 1 a check
              failed, 3 no GPU usable (see cuda/README.md)
              --seed N                      random inputs' seed (default: the clock)
              --stories PATH                (default /work/shared/models/stories260K.gguf)
              --kernels-only true           only the kernel comparison
              --skip-1b true                skip the 1B throughput run
              --skip-bandwidth true         skip the attention bandwidth run
              --bandwidth-seqs N            (default 64)
              --bandwidth-context N         (default 2048)
              --throughput-model 1b|small   (default 1b)
              --batches LIST                throughput batches (default 1,32,128)
              --steps N                     throughput decode steps (default 32)
            """;

    /** {@code quire COMMAND --help}, by command words. */
    static final Map<String, String> BY_COMMAND = Map.ofEntries(
            Map.entry("generate", GENERATE),
            Map.entry("tokenize", TOKENIZE),
            Map.entry("random-model", RANDOM_MODEL),
            Map.entry("bench", String.join("\n", BENCH_KERNELS, BENCH_ATTENTION, BENCH_DECODE, BENCH_PREFILL,
                    BENCH_KV, BENCH_SERVE, BENCH_PROFILE, BENCH_STRUCTURED)),
            Map.entry("bench kernels", BENCH_KERNELS),
            Map.entry("bench attention", BENCH_ATTENTION),
            Map.entry("bench decode", BENCH_DECODE),
            Map.entry("bench prefill", BENCH_PREFILL),
            Map.entry("bench kv", BENCH_KV),
            Map.entry("bench serve", BENCH_SERVE),
            Map.entry("bench profile", BENCH_PROFILE),
            Map.entry("bench structured", BENCH_STRUCTURED),
            Map.entry("cuda-check", CUDA_CHECK),
            Map.entry("pull", PULL));

    /** {@code quire --help}: the server, then every command. */
    static String all() {
        return SERVER + "\nCommands (quire COMMAND --help for one):\n\n" + String.join("\n",
                GENERATE, TOKENIZE, PULL, RANDOM_MODEL, BENCH_KERNELS, BENCH_ATTENTION, BENCH_DECODE, BENCH_PREFILL,
                BENCH_KV, BENCH_SERVE, BENCH_PROFILE, BENCH_STRUCTURED, CUDA_CHECK);
    }
}
