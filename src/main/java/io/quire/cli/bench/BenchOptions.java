package io.quire.cli.bench;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The options of {@code bench serve}, named as vLLM's {@code vllm bench serve} names them where it
 * has them. Parsing accepts {@code --name value} and {@code --name=value}; a bad or unknown
 * option is an {@link IllegalArgumentException} whose message says which and why.
 */
public record BenchOptions(
        String baseUrl,
        String endpoint,
        String tokenizeEndpoint,
        String model,
        int numPrompts,
        double requestRate,
        double burstiness,
        int maxConcurrency,
        long seed,
        String datasetName,
        int inputLen,
        int outputLen,
        double rangeRatio,
        int maxModelLen,
        int sharegptOutputLen,
        int prefixLen,
        int n,
        boolean useBeamSearch,
        int bestOf,
        boolean ignoreEos,
        double temperature,
        String extraBody,
        Duration requestTimeout,
        Duration globalTimeout,
        List<Double> metricPercentiles,
        String resultJson,
        boolean testRequest) {

    public static final String USAGE = """
            usage: bench serve [options]
              --base-url URL            server root (default http://HOST:PORT)
              --host HOST, --port PORT  used when --base-url is absent (default 127.0.0.1:8000, as Quire and vLLM)
              --endpoint PATH           /v1/completions (default) or /v1/chat/completions
              --tokenize-endpoint PATH  token counting endpoint (default /tokenize; 'none' to approximate)
              --model NAME              model to ask for (default: the first of GET /v1/models)
              --num-prompts N           requests to send (default 1000)
              --request-rate R          Poisson arrivals at R requests/s; inf sends all at once (default inf)
              --burstiness B            gamma-distributed gaps of shape B, same mean; 1 = Poisson (default 1)
              --max-concurrency C       at most C requests in flight (default unlimited)
              --seed S                  seed of prompts, lengths and arrivals (default 0)
              --dataset-name NAME       random | fixed | sharegpt-like (default random)
              --random-input-len L      prompt tokens, BOS included, prefix excluded (default 1024)
              --random-output-len L     tokens to generate, sent as max_tokens (default 128)
              --random-range-ratio R    random: lengths uniform in [L*(1-R), L*(1+R)] (default 0)
              --max-model-len L         sharegpt-like: prompt <= L/2 and prompt+output <= L (default 2048)
              --sharegpt-output-len L   sharegpt-like: fixed output length instead of drawn ones
              --prefix-len L            tokens of a prefix shared by every prompt (default 0)
              --n N                     samples per request (default 1)
              --use-beam-search         send use_beam_search (beam width n, or --best-of)
              --best-of B               send best_of B
              --beam-width W            same as --use-beam-search --n W --best-of W
              --ignore-eos [true|false] send ignore_eos (default true); --no-ignore-eos turns it off
              --temperature T           (default 0.0)
              --extra-body JSON         extra fields merged into every request body
              --request-timeout SECONDS per request, whole stream included (default 300)
              --timeout SECONDS         whole benchmark (default 3600)
              --metric-percentiles LIST percentiles to report, e.g. 50,90,99 (default 99)
              --result-json PATH        also write the results as JSON
              --skip-test-request       do not send the initial single test request
            """;

    private static final Set<String> FLAGS = Set.of("--use-beam-search", "--ignore-eos", "--no-ignore-eos",
            "--skip-test-request", "--help", "-h");
    private static final Map<String, String> ALIASES = Map.of(
            "--random-prefix-len", "--prefix-len",
            "--input-len", "--random-input-len",
            "--output-len", "--random-output-len",
            "--global-timeout", "--timeout");

    public static boolean wantsHelp(String[] args) {
        for (String a : args) if (a.equals("--help") || a.equals("-h")) return true;
        return false;
    }

    public static BenchOptions parse(String[] args) {
        Map<String, String> v = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("-")) throw new IllegalArgumentException("unexpected argument '" + a + "'\n" + USAGE);
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            name = ALIASES.getOrDefault(name, name);
            if (!KNOWN.contains(name)) throw new IllegalArgumentException("unknown option " + name + "\n" + USAGE);
            if (FLAGS.contains(name)) {
                if (value == null && name.equals("--ignore-eos") && i + 1 < args.length
                        && (args[i + 1].equals("true") || args[i + 1].equals("false"))) {
                    value = args[++i];
                }
                v.put(name, value == null ? "true" : value);
            } else {
                if (value == null) {
                    if (i + 1 >= args.length) throw new IllegalArgumentException("option " + name + " needs a value");
                    value = args[++i];
                }
                v.put(name, value);
            }
        }

        String base = v.get("--base-url");
        if (base == null) {
            base = "http://" + v.getOrDefault("--host", "127.0.0.1") + ":" + integer(v, "--port", 8000, 1);
        }
        while (base.endsWith("/")) base = base.substring(0, base.length() - 1);
        if (!base.startsWith("http://") && !base.startsWith("https://")) {
            throw new IllegalArgumentException("--base-url must start with http:// or https://, got " + base);
        }
        String endpoint = path(v.getOrDefault("--endpoint", "/v1/completions"));
        String tokenize = v.getOrDefault("--tokenize-endpoint", "/tokenize");
        tokenize = tokenize.equalsIgnoreCase("none") ? null : path(tokenize);

        String dataset = v.getOrDefault("--dataset-name", "random").toLowerCase(Locale.ROOT);
        if (!Set.of("random", "fixed", "sharegpt-like").contains(dataset)) {
            throw new IllegalArgumentException("--dataset-name must be random, fixed or sharegpt-like, got " + dataset);
        }
        boolean ignoreEos = bool(v, "--ignore-eos", true) && !v.containsKey("--no-ignore-eos");
        int n = integer(v, "--n", 1, 1);
        boolean beam = bool(v, "--use-beam-search", false);
        int bestOf = integer(v, "--best-of", 0, 0);
        if (v.containsKey("--beam-width")) {
            // vLLM's current API takes n as the beam width, its older one best_of: send both, all beams returned.
            int width = integer(v, "--beam-width", 1, 1);
            if ((v.containsKey("--n") && n != width) || (v.containsKey("--best-of") && bestOf != width)) {
                throw new IllegalArgumentException("--beam-width " + width + " sets --n and --best-of to " + width
                        + "; do not give them other values");
            }
            n = width;
            bestOf = width;
            beam = true;
        }
        if (bestOf != 0 && bestOf < n) {
            throw new IllegalArgumentException("--best-of (" + bestOf + ") must be >= --n (" + n + ")");
        }
        int maxConcurrency = integer(v, "--max-concurrency", 0, 1);
        String extra = v.get("--extra-body");
        if (extra != null) checkJsonObject(extra);
        return new BenchOptions(
                base, endpoint, tokenize, v.get("--model"),
                integer(v, "--num-prompts", 1000, 1),
                rate(v.getOrDefault("--request-rate", "inf")),
                positive(v, "--burstiness", 1.0),
                maxConcurrency,
                seed(v.getOrDefault("--seed", "0")),
                dataset,
                integer(v, "--random-input-len", 1024, 1),
                integer(v, "--random-output-len", 128, 1),
                number(v, "--random-range-ratio", 0, 0),
                integer(v, "--max-model-len", 2048, 16),
                integer(v, "--sharegpt-output-len", 0, 0),
                integer(v, "--prefix-len", 0, 0),
                n, beam, bestOf, ignoreEos,
                number(v, "--temperature", 0.0, 0),
                extra,
                seconds(v, "--request-timeout", 300),
                seconds(v, "--timeout", 3600),
                percentiles(v.getOrDefault("--metric-percentiles", "99")),
                v.get("--result-json"),
                !bool(v, "--skip-test-request", false));
    }

    private static final Set<String> KNOWN = Set.of("--base-url", "--host", "--port", "--endpoint",
            "--tokenize-endpoint", "--model", "--num-prompts", "--request-rate", "--burstiness", "--max-concurrency",
            "--seed",
            "--dataset-name", "--random-input-len", "--random-output-len", "--random-range-ratio",
            "--max-model-len", "--sharegpt-output-len", "--prefix-len", "--n", "--use-beam-search", "--best-of",
            "--beam-width",
            "--ignore-eos", "--no-ignore-eos", "--temperature", "--extra-body", "--request-timeout", "--timeout",
            "--metric-percentiles", "--result-json", "--skip-test-request", "--help", "-h");

    public boolean chat() {
        return endpoint.contains("chat");
    }

    public LengthDistribution lengths() {
        return switch (datasetName) {
            case "fixed" -> new UniformLengths(inputLen, outputLen, 0);
            case "sharegpt-like" -> ShareGptLikeLengths.standard(maxModelLen, sharegptOutputLen);
            default -> new UniformLengths(inputLen, outputLen, rangeRatio);
        };
    }

    private static String path(String p) {
        return p.startsWith("/") ? p : "/" + p;
    }

    private static void checkJsonObject(String text) {
        try {
            if (!JsonMapper.builder().build().readTree(text).isObject()) {
                throw new IllegalArgumentException("--extra-body must be a JSON object, got " + text);
            }
        } catch (JacksonException e) {
            throw new IllegalArgumentException("--extra-body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static long seed(String s) {
        try {
            return Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--seed must be an integer, got '" + s + "'");
        }
    }

    private static double rate(String s) {
        if (s.equalsIgnoreCase("inf") || s.equalsIgnoreCase("infinity")) return Double.POSITIVE_INFINITY;
        double r = parseNumber("--request-rate", s);
        if (!(r > 0)) throw new IllegalArgumentException("--request-rate must be > 0 or inf, got " + s);
        return r;
    }

    private static int integer(Map<String, String> v, String name, int dflt, int min) {
        String s = v.get(name);
        if (s == null) return dflt;
        int x;
        try {
            x = Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, got '" + s + "'");
        }
        if (x < min) throw new IllegalArgumentException(name + " must be >= " + min + ", got " + x);
        return x;
    }

    private static double number(Map<String, String> v, String name, double dflt, double min) {
        String s = v.get(name);
        if (s == null) return dflt;
        double x = parseNumber(name, s);
        if (x < min) throw new IllegalArgumentException(name + " must be >= " + min + ", got " + s);
        return x;
    }

    private static double parseNumber(String name, String s) {
        try {
            double x = Double.parseDouble(s.strip());
            if (Double.isNaN(x)) throw new NumberFormatException();
            return x;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number, got '" + s + "'");
        }
    }

    private static double positive(Map<String, String> v, String name, double dflt) {
        double x = number(v, name, dflt, 0);
        if (!(x > 0) || Double.isInfinite(x)) throw new IllegalArgumentException(name + " must be > 0, got "
                + v.get(name));
        return x;
    }

    private static boolean bool(Map<String, String> v, String name, boolean dflt) {
        String s = v.get(name);
        if (s == null) return dflt;
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new IllegalArgumentException(name + " must be true or false, got '" + s + "'");
        };
    }

    private static Duration seconds(Map<String, String> v, String name, double dflt) {
        double s = number(v, name, dflt, 0);
        if (s <= 0) throw new IllegalArgumentException(name + " must be > 0 seconds");
        return Duration.ofNanos((long) (s * 1e9));
    }

    private static List<Double> percentiles(String list) {
        List<Double> out = new ArrayList<>();
        for (String part : list.split(",")) {
            if (part.isBlank()) continue;
            double p = parseNumber("--metric-percentiles", part);
            if (p <= 0 || p >= 100) {
                throw new IllegalArgumentException("--metric-percentiles must lie strictly between 0 and 100, got "
                        + part);
            }
            out.add(p);
        }
        return List.copyOf(out);
    }
}
