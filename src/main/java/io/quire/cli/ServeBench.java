package io.quire.cli;

import io.quire.cli.bench.Arrivals;
import io.quire.cli.bench.BenchOptions;
import io.quire.cli.bench.BenchRequest;
import io.quire.cli.bench.BenchmarkReport;
import io.quire.cli.bench.BenchmarkRunner;
import io.quire.cli.bench.LengthDistribution;
import io.quire.cli.bench.Lengths;
import io.quire.cli.bench.PromptBuilder;
import io.quire.cli.bench.RequestResult;
import io.quire.cli.bench.RequestSender;
import io.quire.cli.bench.RunResult;
import io.quire.cli.bench.ServerTokenCounter;
import io.quire.cli.bench.TokenCounter;
import io.quire.cli.bench.WordCountTokenCounter;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * {@code bench serve}: a serving benchmark in the manner of vLLM's {@code vllm bench serve}. It
 * drives any OpenAI-compatible server over HTTP with synthetic prompts, streams every response
 * to time each token, and prints request and token throughput and TTFT, TPOT, ITL and
 * end-to-end latency statistics (see {@link BenchOptions#USAGE} for the options).
 *
 * <p>Exit status: 0 when every request succeeded, 1 when some failed or the server could not be
 * used, 2 for bad options.
 */
public final class ServeBench {
    private ServeBench() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Accepts the options alone, or behind the words {@code bench serve} as the jar's command line passes them. */
    public static int run(String[] args) {
        return run(args, System.out, System.err);
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        args = stripCommandWords(args);
        if (BenchOptions.wantsHelp(args)) {
            out.print(BenchOptions.USAGE);
            return 0;
        }
        BenchOptions options;
        try {
            options = BenchOptions.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("bench serve: " + e.getMessage());
            return 2;
        }
        JsonMapper json = JsonMapper.builder().build();
        try (HttpClient http = RequestSender.newClient(Duration.ofSeconds(10));
             ScheduledExecutorService timers = timeoutTimers()) {
            return benchmark(options, json, http, timers, out, err);
        } catch (IllegalArgumentException | IllegalStateException | java.io.UncheckedIOException e) {
            err.println("bench serve: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("bench serve: interrupted");
            return 1;
        } catch (RuntimeException e) {
            err.println("bench serve: unexpected error (a bug): " + e);
            e.printStackTrace(err);
            return 1;
        }
    }

    /** One daemon thread for request timeouts; pending timeouts are dropped, not awaited, at shutdown. */
    private static ScheduledExecutorService timeoutTimers() {
        ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "bench-timeouts");
            t.setDaemon(true);
            return t;
        });
        timers.setRemoveOnCancelPolicy(true);
        timers.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return timers;
    }

    private static int benchmark(BenchOptions options, JsonMapper json, HttpClient http,
                                 ScheduledExecutorService timers, PrintStream out, PrintStream err)
            throws InterruptedException {
        String model = options.model() != null ? options.model() : firstModel(http, json, options.baseUrl());
        err.println("Model: " + model + " at " + options.baseUrl() + options.endpoint());

        TokenCounter counter = null;
        if (options.tokenizeEndpoint() != null) {
            counter = ServerTokenCounter.probe(http, json, URI.create(options.baseUrl() + options.tokenizeEndpoint()),
                    model, Duration.ofSeconds(30)).orElse(null);
            if (counter == null) {
                err.println("No usable " + options.tokenizeEndpoint()
                        + " on the server: prompt lengths are approximate.");
            }
        }
        if (counter == null) counter = new WordCountTokenCounter();
        err.println("Token counting: " + counter.describe());

        LengthDistribution lengths = options.lengths();
        err.println("Dataset: " + lengths.describe()
                + (options.prefixLen() > 0 ? ", shared prefix " + options.prefixLen() : ""));
        List<BenchRequest> requests = buildRequests(options, counter, lengths);

        RequestSender sender = new RequestSender(http, json, model, options, timers);
        if (options.testRequest()) {
            err.println("Starting initial single prompt test run...");
            RequestResult test = sender.send(requests.getFirst(), 0,
                    System.nanoTime() + options.requestTimeout().toNanos()).join();
            if (!test.success()) {
                err.println("Initial test run failed: " + test.error());
                return 1;
            }
            err.println("Initial test run completed. Starting main benchmark run...");
        }
        err.println("Traffic request rate: " + rateWord(options.requestRate())
                + (options.burstiness() != 1.0 ? ", burstiness " + options.burstiness() : ""));
        err.println("Maximum request concurrency: "
                + (options.maxConcurrency() > 0 ? options.maxConcurrency() : "unlimited"));

        double[] arrivals = Arrivals.gamma(requests.size(), options.requestRate(), options.burstiness(),
                options.seed() ^ 0x5DEECE66DL);
        BenchmarkRunner runner = new BenchmarkRunner(arrivals, options.maxConcurrency(),
                options.globalTimeout().toNanos());
        RunResult run = runner.run(requests, sender);
        BenchmarkReport report = BenchmarkReport.of(run, options.metricPercentiles());

        out.print(report.table());
        out.flush();
        int shown = 0;
        for (var e : report.errorCounts().entrySet()) {
            if (shown++ == 5) break;
            err.println("failed " + e.getValue() + "x: " + e.getKey());
        }
        if (options.resultJson() != null) {
            writeJson(options.resultJson(),
                    report.json(json, settings(options, model, counter, lengths)).toPrettyString());
            err.println("Results written to " + options.resultJson());
        }
        return report.failed() == 0 ? 0 : 1;
    }

    /**
     * The requests, all built before the run starts so that tokenizing costs no benchmark time.
     * Lengths and prompt words come from separate seeded generators, so that changing one
     * option does not reshuffle the other.
     */
    static List<BenchRequest> buildRequests(BenchOptions options, TokenCounter counter, LengthDistribution lengths) {
        PromptBuilder builder = PromptBuilder.calibrate(counter);
        Random lengthRng = new Random(options.seed());
        Random wordRng = new Random(options.seed() + 0x9E3779B97F4A7C15L);
        PromptBuilder.Prompt prefix = builder.prefix(options.prefixLen(), wordRng);
        List<BenchRequest> requests = new ArrayList<>(options.numPrompts());
        for (int i = 0; i < options.numPrompts(); i++) {
            Lengths l = lengths.sample(lengthRng);
            PromptBuilder.Prompt p = builder.build(prefix, options.prefixLen() + l.input(), wordRng);
            requests.add(new BenchRequest(i, p.text(), p.tokens(), l.output()));
        }
        return requests;
    }

    private static Map<String, Object> settings(BenchOptions o, String model, TokenCounter counter,
                                                LengthDistribution lengths) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("date", OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        s.put("backend", o.chat() ? "openai-chat" : "openai");
        s.put("base_url", o.baseUrl());
        s.put("endpoint", o.endpoint());
        s.put("model_id", model);
        s.put("num_prompts", o.numPrompts());
        s.put("request_rate", Double.isInfinite(o.requestRate()) ? "inf" : o.requestRate());
        s.put("burstiness", o.burstiness());
        s.put("max_concurrency", o.maxConcurrency() > 0 ? o.maxConcurrency() : null);
        s.put("seed", o.seed());
        s.put("dataset_name", o.datasetName());
        s.put("dataset", lengths.describe());
        s.put("prefix_len", o.prefixLen());
        s.put("n", o.n());
        s.put("best_of", o.bestOf() > 0 ? o.bestOf() : null);
        s.put("use_beam_search", o.useBeamSearch());
        s.put("ignore_eos", o.ignoreEos());
        s.put("temperature", o.temperature());
        s.put("token_counter", counter.describe());
        s.put("metric_percentiles", o.metricPercentiles());
        return s;
    }

    private static String firstModel(HttpClient http, JsonMapper json, String base) throws InterruptedException {
        URI uri = URI.create(base + "/v1/models");
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET()
                    .build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode id = json.readTree(r.body()).path("data").path(0).path("id");
            if (r.statusCode() == 200 && id.isString()) return id.asString();
            throw new IllegalStateException("GET " + uri + " answered HTTP " + r.statusCode()
                    + " without a model; pass --model");
        } catch (IOException e) {
            throw new IllegalStateException("cannot reach " + uri + " (" + RequestSender.describe(e)
                    + "); is the server running?");
        } catch (tools.jackson.core.JacksonException e) {
            throw new IllegalStateException("GET " + uri + " did not answer JSON; pass --model");
        }
    }

    private static void writeJson(String path, String text) {
        try {
            Path p = Path.of(path).toAbsolutePath();
            if (p.getParent() != null) Files.createDirectories(p.getParent());
            Files.writeString(p, text + "\n");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + path + ": " + e.getMessage(), e);
        }
    }

    private static String rateWord(double rate) {
        return Double.isInfinite(rate) ? "inf" : rate + " req/s";
    }

    private static String[] stripCommandWords(String[] args) {
        int skip = 0;
        if (args.length > skip && args[skip].equals("bench")) skip++;
        if (args.length > skip && args[skip].equals("serve")) skip++;
        return java.util.Arrays.copyOfRange(args, skip, args.length);
    }
}
