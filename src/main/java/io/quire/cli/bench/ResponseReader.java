package io.quire.cli.bench;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a recorded response (status, content type, timestamped body lines) into a
 * {@link RequestResult}. Understands completions chunks ({@code choices[].text}) and chat chunks
 * ({@code choices[].delta.content}, or reasoning text), a {@code usage} object (from
 * {@code stream_options.include_usage}), in-stream {@code {"error": ...}} events and
 * {@code [DONE]}. A server that answers with plain JSON instead of a stream (some do for beam
 * search) is accepted too: its first token time is then its end-to-end time.
 *
 * <p>As in vLLM, the end-to-end latency ends at the last chunk that carried text, not at
 * {@code [DONE]}, so trailing usage chunks do not count as generation time.
 */
public final class ResponseReader {
    private static final int MAX_ERROR_CHARS = 300;

    private final JsonMapper json;

    public ResponseReader(JsonMapper json) {
        this.json = json;
    }

    public RequestResult read(BenchRequest request, int status, String contentType, List<TimedLine> lines,
                              long sentNanos, long endNanos, double sentAt) {
        double total = seconds(endNanos - sentNanos);
        if (status < 200 || status > 299) {
            return RequestResult.failure(request.index(), "HTTP " + status + ": " + clip(joined(lines)), total, sentAt);
        }
        boolean sse = contentType != null ? contentType.toLowerCase().startsWith("text/event-stream")
                : looksLikeSse(lines);
        try {
            return sse ? readStream(request, lines, sentNanos, endNanos, sentAt)
                       : readWhole(request, joined(lines), total, sentAt);
        } catch (JacksonException e) {
            return RequestResult.failure(request.index(), "unparseable response: " + clip(e.getOriginalMessage()),
                    total, sentAt);
        }
    }

    private RequestResult readStream(BenchRequest request, List<TimedLine> lines, long sentNanos, long endNanos,
                                     double sentAt) {
        SseParser parser = new SseParser();
        for (TimedLine line : lines) {
            parser.line(line.text(), line.arrivalNanos());
        }
        Map<Integer, Sample> samples = new HashMap<>();
        List<Double> itl = new ArrayList<>();
        long first = -1;
        long last = -1;
        int chunks = 0;
        JsonNode usage = null;
        boolean done = false;
        for (SseEvent event : parser.finish()) {
            if (event.isDone()) {
                done = true;
                break;
            }
            JsonNode chunk = json.readTree(event.data());
            String error = errorOf(chunk);
            if (error != null) {
                return RequestResult.failure(request.index(), error, seconds(endNanos - sentNanos), sentAt);
            }
            if (chunk.path("usage").isObject()) {
                usage = chunk.path("usage");
            }
            for (JsonNode choice : chunk.path("choices")) {
                if (textOf(choice).isEmpty()) continue;
                long t = event.arrivalNanos();
                Sample s = samples.computeIfAbsent(choice.path("index").asInt(0), k -> new Sample());
                if (s.lastNanos >= 0) itl.add(seconds(t - s.lastNanos));
                s.lastNanos = t;
                chunks++;
                if (first < 0) first = t;
                last = Math.max(last, t);
            }
        }
        if (!done) {
            return RequestResult.failure(request.index(), "stream ended without [DONE]", seconds(endNanos - sentNanos),
                    sentAt);
        }
        double e2e = seconds((last >= 0 ? last : endNanos) - sentNanos);
        double ttft = first >= 0 ? seconds(first - sentNanos) : e2e;
        return result(request, usage, chunks, Math.max(1, samples.size()), ttft, e2e,
                itl.stream().mapToDouble(Double::doubleValue).toArray(), sentAt);
    }

    private RequestResult readWhole(BenchRequest request, String body, double total, double sentAt) {
        JsonNode response = json.readTree(body);
        String error = errorOf(response);
        if (error != null) {
            return RequestResult.failure(request.index(), error, total, sentAt);
        }
        if (!response.path("usage").isObject()) {
            return RequestResult.failure(request.index(),
                    "non-streamed response without usage: its tokens cannot be counted", total, sentAt);
        }
        int samples = Math.max(1, response.path("choices").size());
        return result(request, response.path("usage"), 0, samples, total, total, new double[0], sentAt);
    }

    private static RequestResult result(BenchRequest request, JsonNode usage, int chunks, int samples,
                                        double ttft, double e2e, double[] itl, double sentAt) {
        boolean hasUsage = usage != null && usage.path("completion_tokens").isNumber();
        int output = hasUsage ? usage.path("completion_tokens").asInt() : chunks;
        int prompt = usage != null && usage.path("prompt_tokens").isNumber()
                ? usage.path("prompt_tokens").asInt() : request.promptTokens();
        return new RequestResult(request.index(), true, null, prompt, output, hasUsage, samples, ttft, e2e, itl,
                sentAt);
    }

    /** The generated text of a completions or chat choice; empty when it carries none. */
    static String textOf(JsonNode choice) {
        String text = choice.path("text").asString("");
        if (!text.isEmpty()) return text;
        JsonNode delta = choice.has("delta") ? choice.path("delta") : choice.path("message");
        for (String field : new String[] {"content", "reasoning_content", "reasoning"}) {
            String s = delta.path(field).asString("");
            if (!s.isEmpty()) return s;
        }
        return "";
    }

    private static String errorOf(JsonNode node) {
        JsonNode error = node.path("error");
        if (error.isMissingNode() || error.isNull()) return null;
        String message = error.isObject() ? error.path("message").asString(error.toString())
                : error.asString(error.toString());
        return "server error: " + clip(message);
    }

    private static boolean looksLikeSse(List<TimedLine> lines) {
        for (TimedLine l : lines) {
            if (!l.text().isBlank()) return l.text().startsWith("data:") || l.text().startsWith(":");
        }
        return false;
    }

    private static String joined(List<TimedLine> lines) {
        StringBuilder sb = new StringBuilder();
        for (TimedLine l : lines) sb.append(l.text()).append('\n');
        return sb.toString().strip();
    }

    private static String clip(String s) {
        if (s == null) return "";
        return s.length() <= MAX_ERROR_CHARS ? s : s.substring(0, MAX_ERROR_CHARS) + "...";
    }

    static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static final class Sample {
        long lastNanos = -1;
    }
}
