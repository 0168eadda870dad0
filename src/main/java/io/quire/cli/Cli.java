package io.quire.cli;

import java.util.Set;

/** Command-line entry points that run without Spring. */
public final class Cli {
    private static final Set<String> COMMANDS = Set.of("generate", "tokenize", "random-model", "bench", "cuda-check");

    private Cli() {}

    public static boolean isCommand(String arg) {
        return COMMANDS.contains(arg);
    }

    public static int run(String[] args) {
        try {
            return switch (args[0]) {
                case "generate" -> GenerateCommand.run(args);
                case "tokenize" -> TokenizeCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length));
                case "random-model" -> RandomModelCommand.run(args);
                case "bench" -> bench(args);
                case "cuda-check" -> CudaCheck.run(args);
                default -> usage("unknown command: " + args[0]);
            };
        } catch (IllegalArgumentException e) {
            return usage(e.getMessage());
        }
    }

    private static int bench(String[] args) {
        String what = args.length > 1 ? args[1] : "";
        return switch (what) {
            case "decode" -> DecodeBench.run(args);
            case "kernels" -> KernelBench.run(args);
            case "serve" -> ServeBench.run(args);
            case "kv" -> KvPolicyBench.run(args);
            default -> usage("bench needs one of: kernels, decode, serve, kv");
        };
    }

    private static int usage(String problem) {
        System.err.println("quire: " + problem);
        System.err.println("""
                usage:
                  quire generate --model PATH|dummy --prompt TEXT [--max-tokens N] [--temperature T] [--seed S]
                  quire tokenize --model PATH --text TEXT
                  quire random-model --out PATH [--preset default|110m] [--type F32|F16|BF16|Q8_0|Q4_0] [--seed N]
                  quire bench kernels [--types F32,F16,BF16,Q8_0,Q4_0] [--batches 1,32] [--threads 1,2]
                  quire bench decode [--types F32,Q8_0,Q4_0] [--batches 1,32] [--threads 1,2] [--steps 32]
                  quire bench serve --base-url http://127.0.0.1:8000 [--num-prompts N] [--max-concurrency C | --request-rate R] ...
                    (README.md, "Serving benchmark", lists every option)
                  quire bench kv [--model small|110m|PATH] [--policies PAGED,ORCA_MAX,ORCA_POW2,ORCA_ORACLE] [--num-requests 200] [--kv-blocks 512] [--json FILE]
                  quire cuda-check    (on a GPU machine; see cuda/README.md)""");
        return 2;
    }
}
