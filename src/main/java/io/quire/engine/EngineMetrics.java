package io.quire.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quire.kv.BlockOp;

import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The engine's Micrometer meters, named as vLLM names its Prometheus metrics with {@code quire_}
 * for {@code vllm:} and tagged {@code model_name}; histogram buckets are vLLM's. The engine thread
 * records each step through the {@code record*} methods, which also feed the {@link ThroughputLog}.
 */
final class EngineMetrics {
    static final double[] TTFT_BUCKETS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
            5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    static final double[] ITL_BUCKETS = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
            7.5, 10.0, 20.0, 40.0, 80.0};
    static final double[] REQUEST_LATENCY_BUCKETS = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
            40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
    static final double[] ITERATION_TOKEN_BUCKETS = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};

    final Counter promptTokens;
    final Counter generationTokens;
    final Counter preemptions;
    final Counter prefixCacheQueries;
    final Counter prefixCacheHits;
    final Counter swappedOutBlocks;
    final Counter swappedInBlocks;
    final Counter rejected;
    final Map<FinishReason, Counter> requestSuccess = new EnumMap<>(FinishReason.class);
    final Timer timeToFirstToken;
    final Timer interTokenLatency;
    final Timer timePerOutputToken;
    final Timer e2eLatency;
    final Timer queueTime;
    final DistributionSummary iterationTokens;

    /** Micrometer holds a gauge's state object weakly: keeping it here keeps the gauges alive as long as the engine. */
    private final Supplier<EngineStats> gaugeState;
    private final ThroughputLog throughput = new ThroughputLog();
    private long preemptionsCounted;
    /**
     * While set, steps and requests go uncounted: the server's own warm-up requests before it is
     * ready ({@link LLMEngine#countInMetrics}) are not traffic a dashboard should show.
     */
    volatile boolean muted;

    EngineMetrics(MeterRegistry registry, String modelName, Supplier<EngineStats> stats) {
        this.gaugeState = stats;
        Gauge.builder("quire_num_requests_running", stats, s -> s.get().running()).tag("model_name", modelName)
                .description("Number of sequences in model execution batches (a request with n = 4 counts 4).").register(registry);
        Gauge.builder("quire_num_requests_waiting", stats, s -> s.get().waiting()).tag("model_name", modelName)
                .description("Number of sequences waiting to be processed (a request with n = 4 counts 4).").register(registry);
        Gauge.builder("quire_kv_cache_usage_perc", stats, s -> s.get().kvCacheUsage()).tag("model_name", modelName)
                .description("KV-cache usage. 1 means 100 percent usage.").register(registry);
        promptTokens = Counter.builder("quire_prompt_tokens").tag("model_name", modelName)
                .description("Number of prefill tokens processed.").register(registry);
        generationTokens = Counter.builder("quire_generation_tokens").tag("model_name", modelName)
                .description("Number of generation tokens processed.").register(registry);
        preemptions = Counter.builder("quire_num_preemptions").tag("model_name", modelName)
                .description("Cumulative number of preemptions from the engine.").register(registry);
        prefixCacheQueries = Counter.builder("quire_prefix_cache_queries").tag("model_name", modelName)
                .description("Prefix cache queries, in terms of number of queried tokens.").register(registry);
        prefixCacheHits = Counter.builder("quire_prefix_cache_hits").tag("model_name", modelName)
                .description("Prefix cache hits, in terms of number of cached tokens.").register(registry);
        swappedOutBlocks = Counter.builder("quire_swapped_out_blocks").tag("model_name", modelName)
                .description("KV blocks moved to the swap space by preemption.").register(registry);
        swappedInBlocks = Counter.builder("quire_swapped_in_blocks").tag("model_name", modelName)
                .description("KV blocks brought back from the swap space.").register(registry);
        rejected = Counter.builder("quire_num_requests_rejected").tag("model_name", modelName)
                .description("Requests refused because the waiting queue was full (HTTP 429).").register(registry);
        Gauge.builder("quire_num_requests_swapped", stats, s -> s.get().swapped()).tag("model_name", modelName)
                .description("Number of sequences swapped to CPU.").register(registry);
        Gauge.builder("quire_cpu_cache_usage_perc", stats, s -> s.get().swapUsage()).tag("model_name", modelName)
                .description("CPU KV-cache (swap space) usage. 1 means 100 percent usage.").register(registry);
        for (FinishReason r : FinishReason.values()) {
            requestSuccess.put(r, Counter.builder("quire_request_success").tag("model_name", modelName)
                    .tag("finished_reason", r.name().toLowerCase(Locale.ROOT))
                    .description("Count of successfully processed requests.").register(registry));
        }
        timeToFirstToken = seconds(registry, modelName, "quire_time_to_first_token_seconds",
                "Histogram of time to first token in seconds.", TTFT_BUCKETS);
        interTokenLatency = seconds(registry, modelName, "quire_inter_token_latency_seconds",
                "Histogram of inter-token latency in seconds.", ITL_BUCKETS);
        timePerOutputToken = seconds(registry, modelName, "quire_time_per_output_token_seconds",
                "Histogram of time per output token in seconds.", ITL_BUCKETS);
        e2eLatency = seconds(registry, modelName, "quire_e2e_request_latency_seconds",
                "Histogram of e2e request latency in seconds.", REQUEST_LATENCY_BUCKETS);
        queueTime = seconds(registry, modelName, "quire_request_queue_time_seconds",
                "Histogram of time spent in WAITING phase for request.", REQUEST_LATENCY_BUCKETS);
        // Prometheus reserves _total for counters: this histogram shows up as quire_iteration_tokens_*.
        iterationTokens = DistributionSummary.builder("quire_iteration_tokens_total").tag("model_name", modelName)
                .description("Histogram of number of tokens per engine_step.")
                .serviceLevelObjectives(ITERATION_TOKEN_BUCKETS).register(registry);
    }

    /**
     * A latency histogram. A Timer, not a DistributionSummary: summaries' histograms round values
     * up to whole numbers, which would put every sub-second latency in the 1.0 bucket.
     */
    private static Timer seconds(MeterRegistry registry, String modelName, String name, String description,
                                 double[] buckets) {
        Duration[] slos = new Duration[buckets.length];
        for (int i = 0; i < buckets.length; i++) slos[i] = Duration.ofNanos(Math.round(buckets[i] * 1e9));
        return Timer.builder(name).tag("model_name", modelName).description(description)
                .minimumExpectedValue(slos[0]).serviceLevelObjectives(slos).register(registry);
    }

    /** What the scheduler did this step: new preemptions (of its running total) and prefix-cache lookups. */
    void recordSchedule(SchedulerOutput out, long totalPreemptions) {
        long fresh = totalPreemptions - preemptionsCounted;
        preemptionsCounted = totalPreemptions;
        if (muted) return;
        if (fresh > 0) preemptions.increment(fresh);
        prefixCacheQueries.increment(out.prefixCacheQueries());
        prefixCacheHits.increment(out.prefixCacheHits());
    }

    /** Counts the blocks the step swaps out and in. */
    void recordBlockOps(List<BlockOp> ops) {
        if (muted) return;
        for (BlockOp op : ops) {
            if (op.kind() == BlockOp.Kind.SWAP_OUT) swappedOutBlocks.increment();
            else if (op.kind() == BlockOp.Kind.SWAP_IN) swappedInBlocks.increment();
        }
    }

    /** A request's first step: the time it waited. */
    void recordFirstScheduled(Request req, long now) {
        if (!muted) record(queueTime, now - req.arrivalNanos());
    }

    /**
     * {@code numTokens} tokens generated for a request at {@code now}: its first one (time to first
     * token, its prompt counted) or later ones (inter-token latency, once per request and step).
     */
    void recordTokens(Request req, long now, int numTokens) {
        if (!muted) {
            generationTokens.increment(numTokens);
            throughput.addGenerationTokens(numTokens);
        }
        if (req.lastTokenNanos == now) return; // another sequence of the request already counted this step
        if (req.firstTokenNanos < 0) {
            req.firstTokenNanos = now;
            if (!muted) {
                record(timeToFirstToken, now - req.arrivalNanos());
                promptTokens.increment(req.numPromptTokens());
            }
        } else if (!muted) {
            record(interTokenLatency, now - req.lastTokenNanos);
            record(timePerOutputToken, now - req.lastTokenNanos);
        }
        req.lastTokenNanos = now;
    }

    /** A request ended (not failed): counted by finish reason, with its end-to-end latency. */
    void recordFinished(Request req) {
        if (muted) return;
        FinishReason reason = req.finishReason();
        requestSuccess.get(reason == null ? FinishReason.STOP : reason).increment();
        record(e2eLatency, System.nanoTime() - req.arrivalNanos());
    }

    /** A step ran the model: its prompt tokens count towards the throughput log. */
    void recordPromptTokens(SchedulerOutput plan) {
        if (muted) return;
        for (ScheduledSequence s : plan.scheduled()) {
            int prompt = s.sequence().numPromptTokens();
            if (s.start() < prompt) throughput.addPromptTokens(Math.min(s.numNewTokens(), prompt - s.start()));
        }
    }

    /** A sequence ran a draft of {@code drafted} tokens and kept {@code kept} (the periodic log's figures). */
    void recordDraft(int drafted, int kept) {
        if (!muted) throughput.addDraft(drafted, kept);
    }

    /** Logs the throughput line with these figures when it is due. */
    void logThroughput(EngineStats stats) {
        if (!muted) throughput.maybeLog(stats);
    }

    /** The tokens a step ran (prompt and generated). */
    void recordIterationTokens(int n) {
        if (!muted) iterationTokens.record(n);
    }

    static void record(Timer timer, long nanos) { timer.record(nanos, TimeUnit.NANOSECONDS); }
}
