package io.quire.containers;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.quire.SharedFiles;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * docker-compose.yml itself: valid for Compose v2 (the Compose Specification's schema, and
 * {@code docker compose config} where that plugin exists) and for Debian's docker-compose 1.29;
 * its Quire and Prometheus services started with the installed compose command, offline (the
 * local bases named through QUIRE_BASE and PROMETHEUS_IMAGE), serve the reference completion and
 * answer every dashboard query; {@code stop} lets Quire exit cleanly.
 */
@Tag("containers")
@Tag("slow")
class ComposeStackIT {
    private static final Path FILE = Commands.ROOT.resolve("docker-compose.yml");
    /** ${NAME:-default} and ${NAME-default}; Compose interpolates them before it validates. */
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Z0-9_]+)(:?-([^}]*))?}");

    @TempDir
    Path tmp;

    @Test
    void theFileMatchesTheComposeSpecificationSchema() throws Exception {
        Schema schema;
        try (InputStream in = getClass().getResourceAsStream("/compose-spec/compose-spec.json")) {
            // Its draft-04 style "id"s beside the 2019-09 "$schema" only name parts of it (nothing
            // refers to them); the validator rejects the keyword, so they go.
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8)
                    .replaceAll("\"id\"\\s*:\\s*\"[^\"]*\",", "");
            schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2019_09).getSchema(text);
        }
        List<Error> errors = schema.validate(interpolated(Files.readString(FILE)), InputFormat.YAML);
        assertThat(errors).as("docker-compose.yml against the Compose Specification's schema").isEmpty();
        // The schema is not vacuous: a misspelt key is an error.
        assertThat(schema.validate(interpolated(Files.readString(FILE)).replace("network_mode:", "networkmode:"),
                InputFormat.YAML)).isNotEmpty();
    }

    /**
     * Grafana cannot run here (no image), so what it would be given is checked: the compose file
     * mounts the provisioning and the dashboards where the provisioning looks, and every panel's
     * data source is the provisioned Prometheus at the compose file's default address.
     */
    @Test
    @SuppressWarnings("unchecked")
    void grafanaIsProvisionedWithTheDashboardAndItsDataSource() throws Exception {
        Map<String, Object> compose = new Yaml().load(interpolated(Files.readString(FILE)));
        Map<String, Object> grafana = (Map<String, Object>) ((Map<String, Object>) compose.get("services")).get("grafana");
        assertThat((List<String>) grafana.get("volumes")).contains(
                "./config/grafana/provisioning:/etc/grafana/provisioning:ro",
                "./config/grafana/dashboards:/var/lib/grafana/dashboards:ro");

        Path provisioning = Commands.ROOT.resolve("config/grafana/provisioning");
        Map<String, Object> dashboards = new Yaml().load(Files.readString(provisioning.resolve("dashboards/quire.yml")));
        Map<String, Object> provider = ((List<Map<String, Object>>) dashboards.get("providers")).getFirst();
        assertThat(((Map<String, Object>) provider.get("options")).get("path")).isEqualTo("/var/lib/grafana/dashboards");

        Map<String, Object> sources = new Yaml().load(Files.readString(provisioning.resolve("datasources/prometheus.yml")));
        Map<String, Object> prometheus = ((List<Map<String, Object>>) sources.get("datasources")).getFirst();
        assertThat(prometheus).containsEntry("type", "prometheus").containsEntry("url", "http://127.0.0.1:9090");

        JsonNode dashboard = JsonMapper.builder().build().readTree(DashboardQueries.DASHBOARDS.resolve("quire.json").toFile());
        assertThat(dashboard.path("panels").size()).isGreaterThanOrEqualTo(10);
        for (JsonNode panel : dashboard.path("panels")) {
            assertThat(panel.path("datasource").path("uid").asString()).as(panel.path("title").asString())
                    .isEqualTo(prometheus.get("uid"));
        }
    }

    @Test
    void everyComposeCommandHereAcceptsTheFile() {
        DockerEngine.require();
        List<List<String>> composes = composeCommands();
        for (List<String> compose : composes) {
            List<String> config = new ArrayList<>(compose);
            config.addAll(List.of("-f", FILE.toString(), "config", "-q"));
            Commands.run(config, Map.of(), 60); // throws with compose's message when invalid
        }
    }

    @Test
    void quireAndPrometheusStartFromTheFileOfflineAndAnswer() throws Exception {
        LocalImages.build();
        List<String> compose = composeCommands().getFirst();
        int quirePort = QuireContainer.freePort();
        int prometheusPort = QuireContainer.freePort();
        Path prometheusConfig = tmp.resolve("prometheus.yml");
        Files.writeString(prometheusConfig, PrometheusContainer.scrapeConfig(quirePort));
        prometheusConfig.toFile().setReadable(true, false);
        Map<String, String> env = Map.of(
                "QUIRE_BASE", LocalImages.JRE,
                "PROMETHEUS_IMAGE", LocalImages.PROMETHEUS,
                "QUIRE_IMAGE", "quire:compose-it",
                "QUIRE_MODEL", "/models/" + QuireContainer.MODEL + ".gguf",
                "QUIRE_MODELS_DIR", SharedFiles.stories260K().getParent().toString(),
                "QUIRE_PORT", Integer.toString(quirePort),
                "PROMETHEUS_PORT", Integer.toString(prometheusPort),
                "PROMETHEUS_CONFIG", prometheusConfig.toString());
        String quire = "http://127.0.0.1:" + quirePort;
        String prometheus = "http://127.0.0.1:" + prometheusPort;
        try {
            Commands.run(composeArgs(compose, "up", "-d", "--build", "quire", "prometheus"), env, 600);
            await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> Traffic.get(quire + "/actuator/health/readiness").statusCode() == 200
                            && Traffic.get(prometheus + "/-/ready").statusCode() == 200);

            HttpResponse<String> completion = Traffic.post(quire + "/v1/completions", """
                    {"model":"stories260K","prompt":"Once upon a time","max_tokens":32,"temperature":0}""");
            assertThat(completion.statusCode()).isEqualTo(200);
            assertThat(completion.body()).contains("\"text\":\"" + QuireImageIT.REFERENCE_32 + "\"");

            PrometheusDashboardIT.assertAllQueriesAnswer(quire, prometheus);

            Commands.run(composeArgs(compose, "stop", "quire"), env, 120);
            String id = Commands.run(composeArgs(compose, "ps", "-q", "quire"), env, 60).strip();
            String exit = Commands.run(List.of("docker", "inspect", "-f", "{{.State.ExitCode}}", id), Map.of(), 60).strip();
            assertThat(exit).as("Quire's exit code after compose stop").isIn("0", "143");
        } finally {
            Commands.run(composeArgs(compose, "down", "--volumes"), env, 180);
        }
    }

    /** Compose v2 ({@code docker compose}) and Debian's docker-compose, those that answer here. */
    private static List<List<String>> composeCommands() {
        List<List<String>> found = new ArrayList<>();
        if (Commands.succeeds(List.of("docker", "compose", "version"))) found.add(List.of("docker", "compose"));
        if (Commands.succeeds(List.of("docker-compose", "version"))) found.add(List.of("docker-compose"));
        if (found.isEmpty()) {
            String problem = "neither `docker compose` nor `docker-compose` runs here; config/docker-engine.sh installs docker-compose";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) fail(problem);
            abort("skipped: " + problem);
        }
        System.out.println("compose commands: " + found);
        return found;
    }

    private static List<String> composeArgs(List<String> compose, String... args) {
        List<String> command = new ArrayList<>(compose);
        command.addAll(List.of("-p", "quire-it", "-f", FILE.toString()));
        command.addAll(List.of(args));
        return command;
    }

    /** The file with each variable replaced by its default, as Compose reads it with none set. */
    static String interpolated(String yaml) {
        Matcher m = VARIABLE.matcher(yaml);
        StringBuilder out = new StringBuilder();
        while (m.find()) m.appendReplacement(out, Matcher.quoteReplacement(m.group(3) == null ? "" : m.group(3)));
        m.appendTail(out);
        return out.toString();
    }
}
