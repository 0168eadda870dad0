package io.quire.cli;

import java.io.PrintStream;
import java.util.Map;

/** Runs {@code pull} with a chosen environment, for tests in other packages. */
public final class PullCommandAccess {
    private PullCommandAccess() {}

    public static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        return PullCommand.run(args, env, out, err);
    }
}
