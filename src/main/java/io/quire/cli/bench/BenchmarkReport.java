package io.quire.cli.bench;

import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The metrics vLLM's serving benchmark reports, from one run: request and token throughput over
 * the whole run, and TTFT, TPOT, ITL and end-to-end latency (mean, median, std, percentiles, in
 * milliseconds) over the successful requests. Token totals count successful requests only.
 */
public record BenchmarkReport(
        RunResult run,
        int completed,
        int failed,
        long totalInputTokens,
        long totalOutputTokens,
        boolean outputFromUsage,
        double requestThroughput,
        double outputThroughput,
        double totalTokenThroughput,
        Map<String, Summary> latencies) {

    /** Metric keys, in report order, with their titles as vLLM prints them. */
    static final Map<String, String> TITLES = new LinkedHashMap<>();
    static {
        TITLES.put("ttft", "Time to First Token");
        TITLES.put("tpot", "Time per Output Token (excl. 1st token)");
        TITLES.put("itl", "Inter-token Latency");
        TITLES.put("e2el", "End-to-end Latency");
    }

    public static BenchmarkReport of(RunResult run, List<Double> percentiles) {
        int completed = 0;
        long in = 0;
        long out = 0;
        boolean allUsage = true;
        List<Double> ttft = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        for (RequestResult r : run.requests()) {
            if (!r.success()) continue;
            completed++;
            in += r.promptTokens();
            out += r.outputTokens();
            allUsage &= r.usageReported();
            ttft.add(r.ttft() * 1000);
            e2e.add(r.e2e() * 1000);
            if (!Double.isNaN(r.tpot())) tpot.add(r.tpot() * 1000);
            for (double gap : r.itl()) itl.add(gap * 1000);
        }
        double d = run.durationSeconds();
        Map<String, Summary> lat = new LinkedHashMap<>();
        lat.put("ttft", summary(ttft, percentiles));
        lat.put("tpot", summary(tpot, percentiles));
        lat.put("itl", summary(itl, percentiles));
        lat.put("e2el", summary(e2e, percentiles));
        return new BenchmarkReport(run, completed, run.requests().size() - completed, in, out,
                completed > 0 && allUsage, rate(completed, d), rate(out, d), rate(in + out, d), lat);
    }

    private static Summary summary(List<Double> ms, List<Double> percentiles) {
        return Summary.of(ms.stream().mapToDouble(Double::doubleValue).toArray(), percentiles);
    }

    private static double rate(double amount, double seconds) {
        return seconds > 0 ? amount / seconds : 0;
    }

    /** The errors of failed requests, each with how often it occurred, most frequent first. */
    public Map<String, Integer> errorCounts() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (RequestResult r : run.requests()) {
            if (!r.success()) counts.merge(r.error(), 1, Integer::sum);
        }
        Map<String, Integer> sorted = new LinkedHashMap<>();
        counts.entrySet().stream()
                .sorted((a, b) -> b.getValue() - a.getValue())
                .forEach(e -> sorted.put(e.getKey(), e.getValue()));
        return sorted;
    }

    /** The aligned text table, laid out as vLLM prints it. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(banner(" Serving Benchmark Result ", '=')).append('\n');
        row(sb, "Successful requests:", Integer.toString(completed));
        row(sb, "Failed requests:", Integer.toString(failed));
        row(sb, "Maximum concurrent requests:", Integer.toString(run.peakConcurrency()));
        row(sb, "Benchmark duration (s):", f2(run.durationSeconds()));
        row(sb, "Total input tokens:", Long.toString(totalInputTokens));
        row(sb, "Total generated tokens:", Long.toString(totalOutputTokens));
        row(sb, "Generated tokens counted from:", completed == 0 ? "-" : outputFromUsage ? "usage" : "streamed chunks");
        row(sb, "Request throughput (req/s):", f2(requestThroughput));
        row(sb, "Output token throughput (tok/s):", f2(outputThroughput));
        row(sb, "Total Token throughput (tok/s):", f2(totalTokenThroughput));
        for (var e : latencies.entrySet()) {
            String name = e.getKey().toUpperCase(Locale.ROOT);
            Summary s = e.getValue();
            sb.append(banner(TITLES.get(e.getKey()), '-')).append('\n');
            row(sb, "Mean " + name + " (ms):", f2(s.mean()));
            row(sb, "Median " + name + " (ms):", f2(s.median()));
            row(sb, "Std " + name + " (ms):", f2(s.std()));
            for (var p : s.percentiles().entrySet()) {
                row(sb, "P" + percentileWord(p.getKey()) + " " + name + " (ms):", f2(p.getValue()));
            }
        }
        sb.append("=".repeat(50)).append('\n');
        return sb.toString();
    }

    /**
     * The results as JSON, with vLLM's key names for what vLLM reports ({@code duration},
     * {@code completed}, {@code mean_ttft_ms}, {@code p99_itl_ms}, per-request {@code ttfts}
     * and {@code itls} in seconds, ...) plus our own ({@code failed}, {@code e2els}).
     * {@code settings} holds the run's configuration, merged in first.
     */
    public ObjectNode json(JsonMapper json, Map<String, Object> settings) {
        ObjectNode o = json.createObjectNode();
        for (var e : settings.entrySet()) {
            if (e.getValue() == null) o.putNull(e.getKey());
            else o.set(e.getKey(), json.valueToTree(e.getValue()));
        }
        o.put("duration", run.durationSeconds());
        o.put("completed", completed);
        o.put("failed", failed);
        o.put("total_input_tokens", totalInputTokens);
        o.put("total_output_tokens", totalOutputTokens);
        o.put("output_tokens_from_usage", outputFromUsage);
        o.put("request_throughput", requestThroughput);
        o.put("output_throughput", outputThroughput);
        o.put("total_token_throughput", totalTokenThroughput);
        o.put("max_concurrent_requests", run.peakConcurrency());
        for (var e : latencies.entrySet()) {
            String k = e.getKey();
            Summary s = e.getValue();
            o.put("mean_" + k + "_ms", s.mean());
            o.put("median_" + k + "_ms", s.median());
            o.put("std_" + k + "_ms", s.std());
            for (var p : s.percentiles().entrySet()) {
                o.put("p" + percentileWord(p.getKey()) + "_" + k + "_ms", p.getValue());
            }
        }
        ArrayNode inputLens = o.putArray("input_lens");
        ArrayNode outputLens = o.putArray("output_lens");
        ArrayNode ttfts = o.putArray("ttfts");
        ArrayNode e2els = o.putArray("e2els");
        ArrayNode itls = o.putArray("itls");
        ArrayNode sentAt = o.putArray("sent_at");
        ArrayNode errors = o.putArray("errors");
        for (RequestResult r : run.requests()) {
            inputLens.add(r.promptTokens());
            outputLens.add(r.outputTokens());
            ttfts.add(r.success() ? r.ttft() : 0);
            e2els.add(r.success() ? r.e2e() : 0);
            ArrayNode gaps = itls.addArray();
            for (double g : r.itl()) gaps.add(g);
            sentAt.add(r.sentAt());
            errors.add(r.success() ? "" : r.error());
        }
        return o;
    }

    /** vLLM writes 99 as "99" and 99.9 as "99.9". */
    static String percentileWord(double p) {
        return p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
    }

    private static void row(StringBuilder sb, String label, String value) {
        sb.append(String.format(Locale.ROOT, "%-40s %s\n", label, value));
    }

    private static String banner(String title, char fill) {
        int width = 50;
        int left = Math.max(0, (width - title.length()) / 2);
        int right = Math.max(0, width - title.length() - left);
        return String.valueOf(fill).repeat(left) + title + String.valueOf(fill).repeat(right);
    }

    private static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
