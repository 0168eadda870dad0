package io.quire.cli;

import java.util.Set;

/** Command-line entry points that run without Spring. */
public final class Cli {
    private static final Set<String> COMMANDS = Set.of("generate", "tokenize", "bench");

    private Cli() {}

    public static boolean isCommand(String arg) {
        return COMMANDS.contains(arg);
    }

    public static int run(String[] args) {
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        if (args[0].equals("tokenize")) return TokenizeCommand.run(rest);
        System.err.println("unknown command: " + args[0]);
        return 2;
    }
}
