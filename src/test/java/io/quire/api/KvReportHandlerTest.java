package io.quire.api;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quire.QuireConfiguration;
import io.quire.backend.TensorType;
import io.quire.engine.EngineConfig;
import io.quire.engine.LLMEngine;
import io.quire.engine.SamplingParams;
import io.quire.model.LanguageModel;
import io.quire.model.ModelConfig;
import io.quire.model.RandomModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.http.server.reactive.ReactorHttpHandlerAdapter;
import org.springframework.web.reactive.function.server.RouterFunctions;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code GET /kv/report} over real HTTP (Reactor Netty), with a random model paused at a step
 * boundary. No security filter runs here, so the caller is anonymous and sees aliases, not the
 * request's id.
 */
class KvReportHandlerTest {
    private static LanguageModel<?> model;
    private static LLMEngine engine;
    private static DisposableServer server;
    private static final HttpClient http = HttpClient.newHttpClient();
    private static final JsonMapper json = JsonMapper.builder().build();

    @BeforeAll
    static void start() {
        model = RandomModels.load(ModelConfig.llama(64, 1, 2, 2, 128, 512, 256), TensorType.F32, 3, "tiny");
        EngineConfig config = new EngineConfig(16, EngineConfig.kvBytesFor(model, 16, 32), 8, 256, 256);
        engine = new LLMEngine(model, config, new SimpleMeterRegistry());
        KvReportSource source = new QuireConfiguration().kvReportSource(engine);
        var routes = new KvReportRoutes().kvReportRouter(new KvReportHandler(source), new KvStreamHandler(source, json));
        server = HttpServer.create().host("127.0.0.1").port(0)
                .handle(new ReactorHttpHandlerAdapter(RouterFunctions.toHttpHandler(routes))).bindNow();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.disposeNow();
        if (engine != null) engine.shutdown();
        if (model != null) model.close();
    }

    private static JsonNode get(String path) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + server.port() + path);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("application/json");
        return json.readTree(r.body());
    }

    @Test
    void reportsTheRunningRequestsBlocksWhileTheEnginePauses() throws Exception {
        int[] prompt = new int[20];
        prompt[0] = 1;
        for (int i = 1; i < prompt.length; i++) prompt[i] = 3 + i * 7;
        CountDownLatch paused = new CountDownLatch(1), resume = new CountDownLatch(1);
        AtomicReference<Throwable> error = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        // Listeners run on the engine thread right after a step's report is published:
        // holding the first one that shows the request keeps the engine at that step boundary.
        engine.addKvReportListener(r -> {
            if (r.sequences().isEmpty() || paused.getCount() == 0) return;
            paused.countDown();
            try {
                resume.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        engine.generate("secret-request-7", prompt, SamplingParams.greedy(3).withIgnoreEos(true)).subscribe(o -> {},
                e -> { error.set(e); done.countDown(); }, done::countDown);
        assertThat(paused.await(30, TimeUnit.SECONDS)).isTrue();
        JsonNode body;
        try {
            body = get("/kv/report");
        } finally {
            resume.countDown();
        }
        assertThat(body.get("model").asString()).isEqualTo("tiny");
        assertThat(body.get("allocation_policy").asString()).isEqualTo("PAGED");
        assertThat(body.get("block_size").asInt()).isEqualTo(16);
        assertThat(body.get("step").asLong()).isEqualTo(1);
        JsonNode t = body.get("totals");
        assertThat(t.get("blocks_total").asInt()).isEqualTo(32);
        assertThat(t.get("blocks_used").asInt()).isEqualTo(2);
        assertThat(t.get("blocks_free").asInt()).isEqualTo(30);
        assertThat(t.get("tokens_stored").asLong()).isEqualTo(20);
        assertThat(t.get("slots_allocated").asLong()).isEqualTo(32);
        assertThat(t.get("slots_wasted").asLong()).isEqualTo(12);
        assertThat(t.get("slots_reserved").asLong()).isZero();
        assertThat(t.get("blocks_shared").asInt()).isZero();
        assertThat(t.get("sharing_saved_bytes").asLong()).isZero();
        long perBlock = body.get("bytes_per_block").asLong();
        assertThat(perBlock).isEqualTo(EngineConfig.kvBytesFor(model, 16, 1));
        assertThat(t.get("bytes_used").asLong()).isEqualTo(2 * perBlock);
        assertThat(t.get("bytes_tokens_stored").asLong()).isEqualTo(20 * perBlock / 16);
        assertThat(t.get("utilization").asDouble()).isEqualTo(20.0 / 32);
        assertThat(t.get("usage").asDouble()).isEqualTo(2.0 / 32);
        for (String k : List.of("blocks_cached", "blocks_referenced", "blocks_unattributed", "sharing_saved_blocks",
                "bytes_total", "bytes_wasted", "bytes_reserved", "wasted_fraction", "reserved_fraction",
                "sharing_saved_fraction", "swap_blocks_total", "swap_blocks_used", "sequences_swapped")) {
            assertThat(t.has(k)).as(k).isTrue();
        }

        JsonNode seqs = body.get("sequences");
        assertThat(seqs.size()).isEqualTo(1);
        assertThat(json.writeValueAsString(body)).doesNotContain("secret-request-7");
        assertThat(seqs.get(0).get("sequence_id").asString()).isEqualTo("seq-1");
        assertThat(seqs.get(0).get("request_id").asString()).isEqualTo("req-1");
        assertThat(seqs.get(0).get("num_tokens").asInt()).isEqualTo(20);
        assertThat(seqs.get(0).get("block_ids").size()).isEqualTo(2);
        JsonNode blocks = body.get("blocks");
        assertThat(blocks.size()).isEqualTo(2);
        int lastBlockId = seqs.get(0).get("block_ids").get(1).asInt();
        JsonNode last = blocks.get(0).get("block_id").asInt() == lastBlockId ? blocks.get(0) : blocks.get(1);
        assertThat(last.get("ref_count").asInt()).isEqualTo(1);
        assertThat(last.get("tokens").asInt()).isEqualTo(4);
        assertThat(last.get("fill").asDouble()).isEqualTo(0.25);
        assertThat(json.writeValueAsString(last.get("owners"))).isEqualTo("[\"req-1\"]");

        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(error.get()).isNull();
        // Once it is done: nothing held; without detail, totals only.
        // The blocks are freed at the step boundary after the last output, which may come just after it.
        JsonNode after = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                .until(() -> get("/kv/report?detail=false"), r -> r.get("totals").get("blocks_used").asInt() == 0);
        assertThat(after.has("sequences")).isFalse();
        assertThat(after.has("blocks")).isFalse();
    }

    @Test
    void streamsTheBlockMapWhileARequestRunsAndOnceMoreWhenItEnds() throws Exception {
        int[] prompt = new int[36];  // 3 blocks of 16
        prompt[0] = 1;
        for (int i = 1; i < prompt.length; i++) prompt[i] = 5 + i * 3;
        CountDownLatch paused = new CountDownLatch(1), resume = new CountDownLatch(1);
        engine.addKvReportListener(r -> {
            if (r.sequences().isEmpty() || paused.getCount() == 0) return;
            paused.countDown();
            try {
                resume.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        URI uri = URI.create("http://127.0.0.1:" + server.port() + "/kv/stream");
        HttpResponse<java.util.stream.Stream<String>> stream = http.send(HttpRequest.newBuilder(uri).build(),
                HttpResponse.BodyHandlers.ofLines());
        assertThat(stream.statusCode()).isEqualTo(200);
        assertThat(stream.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        var events = stream.body().filter(l -> l.startsWith("data: "))
                .map(l -> json.readTree(l.substring("data: ".length()))).iterator();
        try {
            String idle = events.next().get("map").asString();
            assertThat(count(idle, 'u')).as(idle).isZero();
            assertThat(count(idle, 'f') + count(idle, 'c')).as(idle).isEqualTo(32);
            CountDownLatch done = new CountDownLatch(1);
            engine.generate("secret-request-9", prompt, SamplingParams.greedy(2).withIgnoreEos(true))
                    .subscribe(o -> {}, e -> done.countDown(), done::countDown);
            assertThat(paused.await(30, TimeUnit.SECONDS)).isTrue();
            JsonNode running;
            do running = events.next(); while (running.get("blocks").isEmpty());
            resume.countDown();
            assertThat(running.get("running").asInt()).isEqualTo(1);
            String map = running.get("map").asString();
            assertThat(count(map, 'u')).as(map).isEqualTo(3);
            assertThat(count(map, 'u') + count(map, 'f') + count(map, 'c')).as(map).isEqualTo(32);
            assertThat(running.get("blocks").size()).isEqualTo(3);
            int tokens = 0;
            for (JsonNode b : running.get("blocks")) {
                assertThat(b.get("ref").asInt()).isEqualTo(1);
                // Prefix caching: the full blocks carry their hash, the partly filled one cannot yet.
                assertThat(b.get("hashed").asBoolean()).as(b.toString()).isEqualTo(b.get("tokens").asInt() == 16);
                assertThat(json.writeValueAsString(b.get("owners"))).isEqualTo("[\"req-1\"]");
                tokens += b.get("tokens").asInt();
            }
            assertThat(tokens).isEqualTo(36);
            assertThat(running.get("totals").get("blocks_used").asInt()).isEqualTo(3);
            assertThat(json.writeValueAsString(running)).doesNotContain("secret-request-9");

            assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
            JsonNode after;
            do after = events.next(); while (!after.get("blocks").isEmpty());
            String freed = after.get("map").asString();
            assertThat(count(freed, 'u')).as(freed).isZero();
            assertThat(count(freed, 'c')).as("the two full blocks stay cached: " + freed).isGreaterThanOrEqualTo(2);
            assertThat(after.get("running").asInt()).isZero();
        } finally {
            resume.countDown();
            stream.body().close();
        }
    }

    /** Blocks in state {@code state} in a run-length encoded map ({@code u3f29}). */
    private static int count(String map, char state) {
        int n = 0;
        for (var m : java.util.regex.Pattern.compile("([a-z])(\\d+)").matcher(map).results().toList()) {
            if (m.group(1).charAt(0) == state) n += Integer.parseInt(m.group(2));
        }
        return n;
    }

    @Test
    void theMapIsRunLengthEncoded() {
        assertThat(KvStreamHandler.runLengths("uuufffffc".toCharArray())).isEqualTo("u3f5c1");
        assertThat(KvStreamHandler.runLengths(new char[0])).isEmpty();
    }
}
