package io.quire.api;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The hostile-client probes of the serving edge, run against any started server, printing one
 * table row per probe: how many were tried, answered 4xx, answered 5xx, aborted in the engine,
 * and left running. Engine counts come from the server's own Prometheus metrics, so it needs
 * nothing but HTTP. Usage: {@code EdgeProbes http://127.0.0.1:8000 [model]} (a server without
 * API keys). {@link EdgeProbesTest} runs it against the test server.
 */
public final class EdgeProbes {
    /** One table row. */
    public record Row(String probe, int tried, int client4xx, int server5xx, long aborted, long leftRunning,
            String note) {}

    private static final List<String> HOSTILE = List.of("{% include 'file:///etc/passwd' %}",
            "{% include 'application.yml' %}", "{{ 7*7 }}", "What does {{ name }} mean?", "{# comment #}", "{%raw%}",
            "{% for i in range(99999999) %}x{% endfor %}");

    private final String base;
    private final String model;
    private final URI uri;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final JsonMapper json = JsonMapper.builder().build();

    public EdgeProbes(String base, String model) {
        this.base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        this.model = model;
        this.uri = URI.create(this.base);
    }

    public static void main(String[] args) throws Exception {
        EdgeProbes p = new EdgeProbes(args.length > 0 ? args[0] : "http://127.0.0.1:8000",
                args.length > 1 ? args[1] : null);
        print(p.runAll());
    }

    /**
     * The probes, in table order. The abandoned batch runs before the disconnects, though: it counts
     * its aborts exactly, as the growth of the server's abort counter, and a disconnected client's
     * request can still be on its way into the engine when the idle check passes (a request not yet
     * submitted is in no gauge), to be aborted later, in whatever window is open then. Nothing the
     * batch follows starts an engine request.
     */
    public List<Row> runAll() throws Exception {
        Row template = templateText();
        Row types = wrongTypes();
        Row batch = batchAbandoned(300);
        Row disconnects = disconnects(50, 20);
        return List.of(template, types, disconnects, batch);
    }

    public static void print(List<Row> rows) {
        System.out.printf("%-44s %6s %5s %5s %8s %13s  %s%n", "probe", "tried", "4xx", "5xx", "aborted", "left running",
                "");
        for (Row r : rows) {
            System.out.printf("%-44s %6d %5d %5d %8d %13d  %s%n", r.probe(), r.tried(), r.client4xx(), r.server5xx(),
                    r.aborted(), r.leftRunning(), r.note());
        }
    }

    /** Jinja in content, system text, name and chat_template_kwargs: must come back from /detokenize verbatim. */
    Row templateText() throws Exception {
        int tried = 0, c4 = 0, c5 = 0, literal = 0;
        for (String h : HOSTILE) {
            var messages = List.of(Map.of("role", "system", "content", h),
                    Map.of("role", "user", "content", h, "name", h));
            tried++;
            HttpResponse<String> t = post("/tokenize",
                    body(Map.of("messages", messages, "chat_template_kwargs", Map.of("x", h))));
            if (t.statusCode() >= 500) { c5++; continue; }
            if (t.statusCode() >= 400) { c4++; continue; }
            HttpResponse<String> d = post("/detokenize", body(Map.of("tokens", json.readTree(t.body()).get("tokens"))));
            String text = json.readTree(d.body()).get("prompt").asString();
            if (text.contains(h) && !text.contains("root:") && !text.contains("49")) literal++;
        }
        return new Row("chat text as template code (/tokenize)", tried, c4, c5, 0, 0, literal + " of " + tried
                + " rendered literally");
    }

    /** Wrong types, nulls inside arrays and unsupported fields: each must be a 4xx naming the field. */
    Row wrongTypes() throws Exception {
        String[] completions = {"\"max_tokens\": 1.5", "\"n\": \"2\"", "\"stream\": 1", "\"stop_token_ids\": [null]",
                "\"stop\": [null]", "\"temperature\": \"hot\"", "\"logit_bias\": {\"5\": null}",
                "\"max_tokens\": 1e308",
                "\"max_tokens\": -5", "\"n\": 100000", "\"suffix\": \"x\"",
                "\"response_format\": {\"type\": \"json_schema\"}",
                "\"guided_json\": 5", "\"guided_regex\": \"(a\"", "\"prompt_logprobs\": 21", "\"priority\": 3", "\"truncate_prompt_tokens\": 0"};
        String[] chat = {"\"messages\": [{\"role\": 123, \"content\": \"Hi\"}]", "\"messages\": [null]",
                "\"messages\": [{\"role\": \"user\", \"content\": [null]}]", "\"tools\": [{\"type\": \"function\"}]",
                "\"tool_choice\": \"required\"", "\"max_completion_tokens\": \"3\""};
        int tried = 0, c4 = 0, c5 = 0;
        for (String f : completions) {
            tried++;
            int s = post("/v1/completions", "{\"prompt\": \"Hi\", " + f + "}").statusCode();
            if (s >= 500) c5++; else if (s >= 400) c4++;
        }
        for (String f : chat) {
            tried++;
            String b = f.startsWith("\"messages\"") ? "{" + f + "}"
                    : "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], " + f + "}";
            int s = post("/v1/chat/completions", b).statusCode();
            if (s >= 500) c5++; else if (s >= 400) c4++;
        }
        return new Row("wrong types, nulls, unsupported fields", tried, c4, c5, 0, 0, "");
    }

    /** Clients that send a long request and leave 0 to {@code maxDelay} ms later. */
    Row disconnects(int clients, int maxDelay) throws Exception {
        Random random = new Random(16);
        double abortedBefore = metric("quire_request_success_total", "finished_reason=\"abort\"");
        double lengthBefore = metric("quire_request_success_total", "finished_reason=\"length\"");
        long left = 0;
        for (int i = 0; i < clients; i++) {
            boolean chat = random.nextBoolean(), stream = random.nextBoolean();
            String b = chat
                    ? "{\"messages\": [{\"role\": \"user\", \"content\": \"Story " + i + "\"}], \"max_tokens\": 400, "
                    + "\"ignore_eos\": true, \"stream\": " + stream + "}"
                    : "{\"prompt\": \"Once upon a time " + i
                    + "\", \"max_tokens\": 400, \"ignore_eos\": true, \"stream\": " + stream + "}";
            try (Socket s = send(chat ? "/v1/chat/completions" : "/v1/completions", b)) {
                int delay = random.nextInt(maxDelay + 1);
                if (delay > 0) Thread.sleep(delay);
            }
            if (!idleWithin(1000)) left++;
        }
        long aborted = Math.round(metric("quire_request_success_total", "finished_reason=\"abort\"") - abortedBefore);
        long ranOut = Math.round(metric("quire_request_success_total", "finished_reason=\"length\"") - lengthBefore);
        return new Row("clients leaving 0-" + maxDelay + " ms after sending", clients, 0, 0, aborted, left,
                ranOut + " ran to max_tokens; the others left before their body was read");
    }

    /** One request of many prompts whose client leaves once the stream began. */
    Row batchAbandoned(int prompts) throws Exception {
        double abortedBefore = metric("quire_request_success_total", "finished_reason=\"abort\"");
        StringBuilder p = new StringBuilder("[");
        for (int i = 0; i < prompts; i++) p.append(i == 0 ? "" : ",").append("\"Once upon a time ").append(i)
                .append('"');
        String b = "{\"prompt\": " + p + "], \"max_tokens\": 300, \"ignore_eos\": true, \"stream\": true}";
        int c4 = 0;
        try (Socket s = send("/v1/completions", b)) {
            InputStream in = s.getInputStream();
            byte[] head = new byte[12];
            int n = in.readNBytes(head, 0, head.length);
            if (new String(head, 0, n, StandardCharsets.US_ASCII).matches("HTTP/1.1 4.*")) c4++;
        }
        long left = idleWithin(1000) ? 0
                : (long) (metric("quire_num_requests_running", "") + metric("quire_num_requests_waiting", ""));
        long aborted = Math.round(metric("quire_request_success_total", "finished_reason=\"abort\"") - abortedBefore);
        return new Row(prompts + " prompts, client leaves mid-stream", prompts, c4, 0, aborted, left, "");
    }

    private boolean idleWithin(long millis) throws Exception {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (true) {
            // Gauges are the engine's last step-boundary snapshot.
            if (metric("quire_num_requests_running", "") + metric("quire_num_requests_waiting", "") == 0) return true;
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(10);
        }
    }

    /** A metric's value summed over the series whose labels contain {@code labelPart}. */
    double metric(String name, String labelPart) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/actuator/prometheus")).GET()
                .build(),
                HttpResponse.BodyHandlers.ofString());
        double sum = 0;
        for (String line : r.body().split("\n")) {
            if (line.startsWith(name + "{")
                    && line.contains(labelPart)) sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
        return sum;
    }

    private String body(Map<String, Object> fields) {
        return json.writeValueAsString(fields);
    }

    /** Adds {@code model} to a JSON object body when one was named (servers before it became optional need it). */
    private String named(String body) {
        return model == null || !body.startsWith("{") ? body : "{\"model\": \"" + model + "\", " + body.substring(1);
    }

    private HttpResponse<String> post(String path, String rawBody) throws Exception {
        String body = named(rawBody);
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private Socket send(String path, String rawBody) throws Exception {
        String body = named(rawBody);
        Socket s = new Socket(uri.getHost(), uri.getPort());
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: " + uri.getHost() + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        return s;
    }
}
