package io.quire.cli;

import io.quire.cli.bench.BenchOptions;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Set;

/** Command-line entry points that run without Spring, and the jar's {@code --help}. */
public final class Cli {
    private static final Set<String> COMMANDS = Set.of("generate", "tokenize", "random-model", "bench", "cuda-check", "pull");
    private static final Set<String> BENCHES = Set.of("kernels", "attention", "decode", "prefill", "serve", "kv", "profile",
            "structured");
    private static final Set<String> HELP = Set.of("--help", "-h");

    private Cli() {}

    public static boolean isCommand(String arg) {
        return COMMANDS.contains(arg);
    }

    /**
     * Whether {@link #run} takes these arguments rather than the server: a command, or a help flag
     * anywhere (Spring takes options only as {@code --key=value}, so a lone {@code -h} is no value).
     */
    public static boolean handles(String[] args) {
        return args.length > 0 && (isCommand(args[0]) || Arrays.stream(args).anyMatch(HELP::contains));
    }

    public static int run(String[] args) {
        return run(args, System.out);
    }

    static int run(String[] args, PrintStream out) {
        if (!isCommand(args[0])) {
            out.print(Usage.all());
            return 0;
        }
        String words = commandWords(args);
        if (asksForHelp(args, words.split(" ").length)) {
            out.print(Usage.BY_COMMAND.get(words));
            out.flush();
            return 0;
        }
        String missing = words.equals("tokenize") || words.equals("pull") || words.equals("bench serve") || words.equals("bench profile") ? null
                : VectorModule.missing();
        if (missing != null) {
            System.err.println(missing);
            return 1;
        }
        try {
            return switch (args[0]) {
                case "generate" -> GenerateCommand.run(args);
                case "tokenize" -> TokenizeCommand.run(Arrays.copyOfRange(args, 1, args.length));
                case "random-model" -> RandomModelCommand.run(args);
                case "bench" -> bench(args);
                case "cuda-check" -> CudaCheck.run(args);
                case "pull" -> PullCommand.run(Arrays.copyOfRange(args, 1, args.length));
                default -> usage("unknown command: " + args[0]);
            };
        } catch (IllegalArgumentException e) {
            return usage(e.getMessage());
        }
    }

    /** {@code bench kv}, {@code generate}, or plain {@code bench} when no benchmark is named. */
    private static String commandWords(String[] args) {
        return args[0].equals("bench") && args.length > 1 && BENCHES.contains(args[1]) ? "bench " + args[1] : args[0];
    }

    /**
     * A help flag where an option name stands: options come as {@code --name value} or
     * {@code --name=value}, so a prompt such as {@code --prompt -h} is not a request for help.
     * {@code bench serve} has options without values; any help flag counts there.
     */
    static boolean asksForHelp(String[] args, int skip) {
        if (args[0].equals("bench") && skip == 2 && args[1].equals("serve")) {
            return BenchOptions.wantsHelp(Arrays.copyOfRange(args, 2, args.length));
        }
        for (int i = skip; i < args.length; i++) {
            if (HELP.contains(args[i])) return true;
            if (args[i].startsWith("--") && !args[i].contains("=")) i++;
        }
        return false;
    }

    private static int bench(String[] args) {
        String what = args.length > 1 ? args[1] : "";
        return switch (what) {
            case "decode" -> DecodeBench.run(args);
            case "prefill" -> PrefillBench.run(args);
            case "attention" -> AttentionBench.run(args);
            case "kernels" -> KernelBench.run(args);
            case "serve" -> ServeBench.run(args);
            case "kv" -> KvPolicyBench.run(args);
            case "profile" -> ProfileBreakdown.run(args);
            case "structured" -> StructuredBench.run(args);
            default -> usage("bench needs one of: kernels, attention, decode, prefill, serve, kv, profile, structured");
        };
    }

    /** A command line that cannot work: the problem and every command's usage, on stderr. */
    private static int usage(String problem) {
        System.err.println("quire: " + problem);
        System.err.println();
        System.err.print(Usage.all().substring(Usage.SERVER.length()).stripLeading());
        return 2;
    }
}
