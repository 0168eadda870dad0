package io.quire.cli;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@code --name value} command-line options, starting after the command words. */
final class Args {
    private final Map<String, String> values = new HashMap<>();

    Args(String[] args, int skip) {
        for (int i = skip; i < args.length; i++) {
            String k = args[i];
            if (!k.startsWith("--")) throw new IllegalArgumentException("unexpected argument '" + k + "'");
            int eq = k.indexOf('=');
            if (eq > 0) {
                values.put(k.substring(0, eq), k.substring(eq + 1));
            } else {
                if (i + 1 >= args.length) throw new IllegalArgumentException("option " + k + " needs a value");
                values.put(k, args[++i]);
            }
        }
    }

    String get(String key, String fallback) { return values.getOrDefault(key, fallback); }

    boolean has(String key) { return values.containsKey(key); }

    String require(String key) {
        String v = values.get(key);
        if (v == null) throw new IllegalArgumentException("missing required option " + key);
        return v;
    }

    List<String> list(String key, String fallback) { return Arrays.asList(get(key, fallback).split(",")); }

    List<Integer> ints(String key, String fallback) {
        return list(key, fallback).stream().map(String::trim).map(Integer::parseInt).toList();
    }
}
