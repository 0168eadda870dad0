package io.quire.cli;

import io.quire.model.ModelLoader;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.StringJoiner;

/**
 * {@code tokenize --model PATH --text TEXT}: prints the token ids of TEXT (with BOS when the model
 * adds one, special tokens not parsed) as a JSON array. Only the GGUF metadata is used, so
 * vocabulary-only files work whatever architecture they name; a Hugging Face model folder is
 * tokenized with its tokenizer.json, its weights unread.
 */
public final class TokenizeCommand {
    static final String USAGE = "usage: tokenize --model PATH --text TEXT";

    private TokenizeCommand() {}

    /** Runs with the arguments after the command name; returns the exit status. */
    public static int run(String[] args) {
        return run(args, System.out, System.err);
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        String model = null, text = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value;
            String name;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            } else {
                name = a;
                if (i + 1 >= args.length) {
                    err.println((a.startsWith("--") ? "missing value for " + a : "unexpected argument '" + a + "'")
                            + "; " + USAGE);
                    return 2;
                }
                value = args[++i];
            }
            switch (name) {
                case "--model" -> model = value;
                case "--text" -> text = value;
                default -> {
                    err.println("unknown option '" + name + "'; " + USAGE);
                    return 2;
                }
            }
        }
        if (model == null || text == null) {
            err.println((model == null ? "missing --model" : "missing --text") + "; " + USAGE);
            return 2;
        }
        Path path = Path.of(model);
        if (!Files.isRegularFile(path) && !Files.isDirectory(path)) {
            err.println("cannot read model file " + path + ": no such file");
            return 1;
        }
        int[] ids;
        try {
            ids = ModelLoader.tokenizer(path).encode(text, true, false);
        } catch (Exception e) {
            err.println("cannot tokenize with " + path + ": " + oneLine(e));
            return 1;
        }
        StringJoiner json = new StringJoiner(", ", "[", "]");
        for (int id : ids) json.add(Integer.toString(id));
        out.println(json);
        out.flush();
        return 0;
    }

    private static String oneLine(Exception e) {
        String m = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return m.replace('\n', ' ');
    }
}
