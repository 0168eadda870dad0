package io.quire.api;

import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every {@code quire_*} metric name a reader or a dashboard is given (README.md, docs/, the Grafana
 * dashboards) is one a running server exposes on {@code /actuator/prometheus}.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "quire.kv-cache-memory=32MB", "quire.max-model-len=256",
        // the spec-decode counters exist only with speculative decoding on
        "quire.speculative-config={\"method\": \"ngram\", \"num_speculative_tokens\": 2}"})
class DocumentedMetricsTest {
    /** A name, not followed by {@code *} (docs write families as {@code quire_kv_*}). */
    private static final Pattern NAME = Pattern.compile("quire_[a-z0-9_]+(?![a-z0-9_*])");
    /** Series Prometheus derives from a histogram or summary, besides the family's own name. */
    private static final Pattern SERIES_SUFFIX = Pattern.compile("_(bucket|count|sum|max)$");

    @LocalServerPort
    int port;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void everyDocumentedMetricIsExposed() throws Exception {
        // One request first, so that the latency histograms have samples.
        HttpResponse<String> completion = http.send(HttpRequest.newBuilder(uri("/v1/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"Hello\", \"max_tokens\": 4}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(completion.statusCode()).as(completion.body()).isEqualTo(200);
        HttpResponse<String> scrape = http.send(HttpRequest.newBuilder(uri("/actuator/prometheus")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(scrape.statusCode()).isEqualTo(200);
        Set<String> exposed = exposed(scrape.body());

        Map<String, Set<String>> documented = documented();
        assertThat(documented.keySet()).as("documented metric names").hasSizeGreaterThanOrEqualTo(30);
        List<String> missing = new ArrayList<>();
        documented.forEach((name, files) -> {
            if (!exposed.contains(name)) missing.add(name + " (in " + String.join(", ", files) + ")");
        });
        Set<String> exposedQuire = new TreeSet<>(exposed);
        exposedQuire.removeIf(name -> !name.startsWith("quire_"));
        assertThat(missing).as("documented but not exposed; exposed: " + exposedQuire).isEmpty();
    }

    private URI uri(String path) {
        return URI.create("http://localhost:" + port + path);
    }

    /** Sample names, and for histogram series also their family's name. */
    private static Set<String> exposed(String scrape) {
        Set<String> names = new TreeSet<>();
        for (String line : scrape.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String name = line.split("[{ ]", 2)[0];
            names.add(name);
            names.add(SERIES_SUFFIX.matcher(name).replaceFirst(""));
        }
        return names;
    }

    /** Name to the files that mention it. */
    private static Map<String, Set<String>> documented() throws IOException {
        List<Path> files = new ArrayList<>(List.of(Path.of("README.md")));
        try (Stream<Path> docs = Files.list(Path.of("docs"));
             Stream<Path> dashboards = Files.list(Path.of("config", "grafana", "dashboards"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
            dashboards.filter(p -> p.toString().endsWith(".json")).sorted().forEach(files::add);
        }
        Map<String, Set<String>> names = new TreeMap<>();
        for (Path file : files) {
            Matcher m = NAME.matcher(Files.readString(file));
            while (m.find()) names.computeIfAbsent(m.group(), k -> new TreeSet<>()).add(file.toString());
        }
        return names;
    }
}
