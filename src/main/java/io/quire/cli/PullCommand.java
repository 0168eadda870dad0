package io.quire.cli;

import io.quire.model.hub.DownloadProgress;
import io.quire.model.hub.HubClient;
import io.quire.model.hub.HubException;
import io.quire.model.hub.HubModelId;
import io.quire.model.hub.HubModels;

import java.io.PrintStream;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * {@code pull Org/Name[@revision] [--file NAME] [--include GLOB]...}: downloads a Hugging Face model
 * repository into the shared cache ({@code HF_HOME}), resuming a download that stopped and checking
 * each file's size and hash, and prints the snapshot folder. {@code --file}: one file (a GGUF file
 * to serve); {@code --include}: the files that match; neither: the whole repository, or with several
 * GGUF files an error listing them, or for a safetensors checkpoint without GGUF files the files
 * Quire loads (config, tokenizer and generation files, the index and the shards it names).
 */
public final class PullCommand {
    static final String USAGE = "usage: pull Org/Name[@revision] [--file NAME] [--include GLOB]...";

    private PullCommand() {}

    public static int run(String[] args) {
        return run(args, System.getenv(), System.out, System.err);
    }

    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        String repo = null, file = null;
        List<PathMatcher> include = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                if (repo != null) return fail(err, "unexpected argument '" + a + "'");
                repo = a;
                continue;
            }
            if (i + 1 >= args.length) return fail(err, "missing value for " + a);
            String value = args[++i];
            switch (a) {
                case "--file" -> file = value;
                case "--include" -> include.add(FileSystems.getDefault().getPathMatcher("glob:" + value));
                default -> {
                    return fail(err, "unknown option '" + a + "'");
                }
            }
        }
        if (repo == null) return fail(err, "missing the model id");
        HubModelId id = HubModelId.parse(repo);
        if (id == null) return fail(err, "'" + repo + "' is not a Hugging Face model id (Org/Name[@revision])");
        HubClient hub = HubClient.fromEnvironment(env);
        DownloadProgress progress = System.console() != null ? DownloadProgress.terminal(err)
                : DownloadProgress.log(err::println);
        try {
            HubClient.Snapshot s;
            if (file != null) {
                s = HubModels.pullGguf(hub, id, file, progress);
            } else {
                Predicate<String> wanted = include.isEmpty() ? name -> true
                        : name -> include.stream().anyMatch(m -> m.matches(Path.of(name)));
                boolean checkpoint = false;
                if (include.isEmpty() && !hub.offline()) {
                    List<String> names = hub.info(id).files().stream().map(f -> f.name()).toList();
                    List<String> ggufs = names.stream().filter(n -> n.endsWith(".gguf")).toList();
                    if (ggufs.size() > 1) {
                        return fail(err, id + " has " + ggufs.size() + " GGUF files; choose one with --file: "
                                + String.join(", ", ggufs));
                    }
                    // A transformers repository: only what Quire loads, not pytorch_model.bin or original/.
                    checkpoint = ggufs.isEmpty() && HubModels.isCheckpoint(names);
                }
                s = checkpoint ? HubModels.pullCheckpoint(hub, id, progress) : hub.pull(id, wanted, progress);
            }
            out.println(file != null ? s.dir().resolve(file) : s.dir());
            return 0;
        } catch (HubException | io.quire.model.safetensors.SafetensorsException e) {
            err.println(e.getMessage());
            return 1;
        } catch (java.io.IOException e) {
            err.println("pull " + id + ": " + e.getMessage());
            return 1;
        }
    }

    private static int fail(PrintStream err, String problem) {
        err.println(problem + "; " + USAGE);
        return 2;
    }
}
