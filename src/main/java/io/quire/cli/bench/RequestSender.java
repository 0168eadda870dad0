package io.quire.cli.bench;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sends one benchmark request as a streaming OpenAI completions or chat request and records
 * every body line with its arrival time, without blocking a thread per request. The body asks
 * for {@code stream_options.include_usage} so that output tokens can be counted exactly, and
 * carries vLLM's extra fields ({@code ignore_eos}, {@code n}, {@code best_of},
 * {@code use_beam_search}) as the options ask. A request that outlives its timeout, or the
 * benchmark's deadline, is cancelled (the connection is closed) and counted as failed.
 */
public final class RequestSender {
    private final HttpClient http;
    private final JsonMapper json;
    private final URI uri;
    private final String model;
    private final BenchOptions options;
    private final JsonNode extraBody;
    private final ResponseReader reader;
    private final ScheduledExecutorService timers;

    public RequestSender(HttpClient http, JsonMapper json, String model, BenchOptions options,
                         ScheduledExecutorService timers) {
        this.http = http;
        this.json = json;
        this.uri = URI.create(options.baseUrl() + options.endpoint());
        this.model = model;
        this.options = options;
        this.timers = timers;
        this.reader = new ResponseReader(json);
        this.extraBody = options.extraBody() != null ? json.readTree(options.extraBody()) : null;
    }

    /** The JSON body sent for {@code request}. */
    public ObjectNode body(BenchRequest request) {
        ObjectNode body = json.createObjectNode();
        body.put("model", model);
        if (options.chat()) {
            ObjectNode message = body.putArray("messages").addObject();
            message.put("role", "user");
            message.put("content", request.prompt());
            body.put("max_completion_tokens", request.outputTokens());
        } else {
            body.put("prompt", request.prompt());
        }
        body.put("max_tokens", request.outputTokens());
        body.put("temperature", options.temperature());
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        body.put("ignore_eos", options.ignoreEos());
        if (options.n() != 1 || options.useBeamSearch()) body.put("n", options.n());
        if (options.bestOf() > 0) body.put("best_of", options.bestOf());
        if (options.useBeamSearch()) body.put("use_beam_search", true);
        if (extraBody != null) {
            for (var field : extraBody.properties()) body.set(field.getKey(), field.getValue());
        }
        return body;
    }

    /**
     * Sends {@code request} now. {@code sentAt} is the send time in seconds from the start of the
     * run (for the report); the request is abandoned at {@code deadlineNanos} at the latest.
     */
    public CompletableFuture<RequestResult> send(BenchRequest request, double sentAt, long deadlineNanos) {
        HttpRequest httpRequest = HttpRequest.newBuilder(uri)
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body(request))))
                .build();
        LineRecorder recorder = new LineRecorder();
        CompletableFuture<RequestResult> result = new CompletableFuture<>();
        long sent = System.nanoTime();
        long limit = Math.min(options.requestTimeout().toNanos(), Math.max(0, deadlineNanos - sent));
        boolean byDeadline = limit < options.requestTimeout().toNanos();
        CompletableFuture<HttpResponse<Void>> exchange =
                http.sendAsync(httpRequest, HttpResponse.BodyHandlers.fromLineSubscriber(recorder));
        ScheduledFuture<?> timer = timers.schedule(() -> {
            String why = byDeadline ? "stopped at the benchmark's global timeout"
                    : "timed out after " + options.requestTimeout().toMillis() / 1000.0 + " s";
            if (result.complete(RequestResult.failure(request.index(), why,
                    ResponseReader.seconds(System.nanoTime() - sent), sentAt))) {
                recorder.cancel();
                exchange.cancel(true);
            }
        }, limit, TimeUnit.NANOSECONDS);
        exchange.whenComplete((response, error) -> {
            long end = System.nanoTime();
            timer.cancel(false);
            if (result.isDone()) return;
            if (error != null) {
                result.complete(RequestResult.failure(request.index(), "request failed: " + describe(error),
                        ResponseReader.seconds(end - sent), sentAt));
                return;
            }
            String contentType = response.headers().firstValue("Content-Type").orElse(null);
            try {
                result.complete(reader.read(request, response.statusCode(), contentType, recorder.lines(), sent, end,
                        sentAt));
            } catch (RuntimeException e) {
                result.complete(RequestResult.failure(request.index(), "unreadable response: " + e,
                        ResponseReader.seconds(end - sent), sentAt));
            }
        });
        return result;
    }

    /** Keeps each body line with the time it arrived; can cut the stream off. */
    private static final class LineRecorder implements Flow.Subscriber<String> {
        private final List<TimedLine> lines = Collections.synchronizedList(new ArrayList<>());
        private volatile Flow.Subscription subscription;
        private volatile boolean cancelled;

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (cancelled) s.cancel();
            else s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            lines.add(new TimedLine(line, System.nanoTime()));
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onComplete() {}

        void cancel() {
            cancelled = true;
            Flow.Subscription s = subscription;
            if (s != null) s.cancel();
        }

        List<TimedLine> lines() {
            synchronized (lines) {
                return List.copyOf(lines);
            }
        }
    }

    /** The innermost cause's type and message; the JDK leaves the message of a refused connection empty. */
    public static String describe(Throwable error) {
        Throwable t = error;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String name = t.getClass().getSimpleName();
        if (t.getMessage() != null && !t.getMessage().isBlank()) return name + ": " + t.getMessage();
        return t instanceof java.io.IOException ? name + " (connection failed; is the server running?)" : name;
    }

    public static HttpClient newClient(Duration connectTimeout) {
        // HTTP/1.1: servers such as llama.cpp's do not speak cleartext HTTP/2, and an upgrade attempt costs a round
        // trip.
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(connectTimeout)
                .build();
    }
}
