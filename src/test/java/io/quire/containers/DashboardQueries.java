package io.quire.containers;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Every PromQL expression of the Grafana dashboards in config/grafana/dashboards, and which of
 * them a Prometheus answers without data: the check that the dashboard matches Quire's metrics,
 * made against Prometheus's HTTP API since Grafana itself has no image here.
 */
final class DashboardQueries {
    static final Path DASHBOARDS = Commands.ROOT.resolve("config/grafana/dashboards");
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private DashboardQueries() {}

    /** The {@code expr} of every target of every panel (rows' panels too), in dashboard order. */
    static List<String> expressions() throws IOException {
        List<String> exprs = new ArrayList<>();
        try (Stream<Path> files = Files.list(DASHBOARDS)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
                collect(JSON.readTree(file.toFile()), exprs);
            }
        }
        return exprs;
    }

    private static void collect(JsonNode node, List<String> exprs) {
        if (node.isObject()) {
            JsonNode expr = node.get("expr");
            if (expr != null && expr.isString()) exprs.add(expr.asString());
            node.values().forEach(child -> collect(child, exprs));
        } else if (node.isArray()) {
            node.forEach(child -> collect(child, exprs));
        }
    }

    /**
     * The expressions that return no sample, or only NaN, from the Prometheus at {@code url}, each
     * with what it returned. Grafana's interval variables are given the dashboards' own 1m window.
     */
    static Map<String, String> withoutData(String url) throws IOException, InterruptedException {
        Map<String, String> missing = new LinkedHashMap<>();
        for (String expr : expressions()) {
            String query = expr.replace("$__rate_interval", "1m").replace("$__interval", "1m");
            HttpResponse<String> r = Traffic.get(url + "/api/v1/query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8));
            if (r.statusCode() != 200) {
                missing.put(expr, "HTTP " + r.statusCode() + ": " + r.body());
                continue;
            }
            JsonNode result = JSON.readTree(r.body()).path("data").path("result");
            boolean hasNumber = false;
            for (JsonNode series : result) {
                String value = series.path("value").path(1).asString();
                if (!value.equals("NaN")) hasNumber = true;
            }
            if (!hasNumber) missing.put(expr, result.toString());
        }
        return missing;
    }
}
