package io.quire.containers;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Quire image (config/Dockerfile on the offline base) as a user runs it: stories260K from a
 * read-only volume, settings from QUIRE_* variables, a 1 GiB memory limit. The official OpenAI
 * client streams the reference greedy text; readiness, the health check and the metrics answer;
 * SIGTERM during streams ends them cleanly and the container exits within its grace period.
 * The SIGTERM test runs last: it stops the container the others share.
 */
@Tag("containers")
@Tag("slow")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class QuireImageIT {
    /** stories260K's greedy continuation of "Once upon a time" (shared/models/README.md). */
    static final String REFERENCE_32 =
            ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw";
    private static final long MEMORY_LIMIT = 1L << 30;
    /** The image's QUIRE_SHUTDOWN_GRACE. */
    private static final Duration GRACE = Duration.ofSeconds(8);

    private static QuireContainer quire;

    @BeforeAll
    static void start() {
        if (!DockerEngine.available()) return; // each test skips, saying why
        LocalImages.build();
        quire = new QuireContainer().withCreateContainerCmdModifier(
                cmd -> cmd.getHostConfig().withMemory(MEMORY_LIMIT).withMemorySwap(MEMORY_LIMIT));
        quire.start();
    }

    @BeforeEach
    void engine() {
        DockerEngine.require();
    }

    @AfterAll
    static void stop() {
        if (quire != null) quire.stop();
    }

    @Test
    @Order(1)
    void theOpenAiClientStreamsTheReferenceGreedyCompletion() {
        // No responseValidation: the client holds a completion chunk's finish_reason required, while
        // OpenAI's own streams (and Quire's) send null until the last chunk.
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(quire.baseUrl() + "/v1").apiKey("unused")
                .maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(CompletionCreateParams.builder()
                .model(QuireContainer.MODEL).prompt("Once upon a time").maxTokens(32).temperature(0.0).build())) {
            StringBuilder text = new StringBuilder();
            List<String> reasons = new ArrayList<>();
            stream.stream().forEach(chunk -> chunk.choices().forEach(c -> {
                text.append(c.text());
                c._finishReason().asKnown().ifPresent(r -> reasons.add(r.asString()));
            }));
            assertThat(text.toString()).isEqualTo(REFERENCE_32);
            assertThat(reasons).containsExactly("length");
        } finally {
            client.close();
        }
    }

    @Test
    @Order(2)
    void readyHealthyNotRootAndTheHeapFollowsTheMemoryLimit() throws Exception {
        HttpResponse<String> readiness = Traffic.get(quire.baseUrl() + "/actuator/health/readiness");
        assertThat(readiness.statusCode()).isEqualTo(200);
        assertThat(readiness.body()).contains("\"status\":\"UP\"");
        assertThat(Traffic.get(quire.baseUrl() + "/health").statusCode()).isEqualTo(200);

        var info = quire.getDockerClient().inspectContainerCmd(quire.getContainerId()).exec();
        assertThat(info.getState().getHealth().getStatus()).isEqualTo("healthy");
        assertThat(info.getConfig().getUser()).isEqualTo("10001:10001");
        assertThat(info.getMounts()).anySatisfy(m -> {
            assertThat(m.getDestination().getPath()).isEqualTo("/models");
            assertThat(m.getRW()).isFalse();
        });

        // -XX:MaxRAMPercentage=45 of the 1 GiB limit (the JVM rounds to its region size).
        String heap = Traffic.get(quire.baseUrl() + "/actuator/metrics/jvm.memory.max?tag=area:heap").body();
        Matcher m = Pattern.compile("\"value\":([0-9.E]+)").matcher(heap);
        assertThat(m.find()).as(heap).isTrue();
        double maxHeap = Double.parseDouble(m.group(1));
        assertThat(maxHeap).isBetween(0.40 * MEMORY_LIMIT, 0.46 * MEMORY_LIMIT);
    }

    @Test
    @Order(3)
    void prometheusMetricsCountTheTraffic() throws Exception {
        Traffic.concurrent(quire.baseUrl(), 4, 16);
        String metrics = Traffic.get(quire.baseUrl() + "/actuator/prometheus").body();
        assertThat(metrics).contains("quire_num_requests_running", "quire_kv_cache_usage_perc",
                "quire_time_to_first_token_seconds_bucket", "quire_request_success_total");
        Matcher m = Pattern.compile("(?m)^quire_generation_tokens_total(\\{[^}]*})? ([0-9.E]+)$").matcher(metrics);
        assertThat(m.find()).as("quire_generation_tokens_total in\n" + metrics).isTrue();
        assertThat(Double.parseDouble(m.group(2))).isGreaterThanOrEqualTo(32 + 4 * 16);
    }

    @Test
    @Order(4)
    void sigtermDuringStreamsEndsThemCleanlyAndTheContainerExitsWithinItsGrace() throws Exception {
        List<List<String>> streams = new ArrayList<>();
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            List<String> lines = new CopyOnWriteArrayList<>();
            streams.add(lines);
            done.add(Traffic.stream(quire.baseUrl(), "Once upon a time " + i, 480, lines));
        }
        // Every stream has produced text: all were admitted and are running when SIGTERM comes.
        await().atMost(Duration.ofSeconds(60)).until(() -> streams.stream().allMatch(l -> l.size() >= 3));

        long sent = System.nanoTime();
        long exit = quire.terminate(GRACE.plusSeconds(20));
        Duration took = Duration.ofNanos(System.nanoTime() - sent);

        assertThat(exit).as("exit code").isIn(0L, 143L);
        assertThat(took).as("SIGTERM to exit").isLessThan(GRACE.plusSeconds(10));
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        for (List<String> lines : streams) {
            assertThat(lines.getLast()).isEqualTo("data: [DONE]");
            String last = lines.get(lines.size() - 2);
            assertThat(last).containsPattern("\"finish_reason\":\"(abort|length|stop)\"");
        }
    }
}
