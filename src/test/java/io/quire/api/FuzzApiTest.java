package io.quire.api;

import io.quire.api.wire.ChatCompletionRequest;
import io.quire.api.wire.CompletionRequest;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded fuzzing of {@code /v1/completions} and {@code /v1/chat/completions} on a running server:
 * valid bodies (at most 4 tokens each) with 1 to 3 mutations each, from wrong types, nulls and
 * extreme numbers to deep nesting, invalid UTF-8, truncation and duplicate keys. No body may get a
 * 5xx or hang; every 4xx must have OpenAI's error shape; afterwards the server must be healthy,
 * generate normally, and have every KV block free again. The seed is printed with the summary;
 * {@code -Dquire.fuzz.seed=...} replays a run, {@code -Dquire.fuzz.bodies=...} changes its size.
 */
class FuzzApiTest extends Stories260KServerTest {
    private static final long SEED = Long.getLong("quire.fuzz.seed", 20260611L);
    private static final int BODIES = Integer.getInteger("quire.fuzz.bodies", 2400);
    private static final int CLIENTS = 4;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** Odd values are raw JSON text (1e308, -0, deep nesting) no tree can hold: holes filled after writing. */
    private static final String HOLE = "@@fuzz%d@@";

    private static final String[] ODD_VALUES = {
            "null", "true", "false", "0", "-0", "-1", "1", "2", "3", "2.0", "1.5", "-1.5", "0.0", "-0.0", "1E2",
            "1e308", "-1e308", "1e309", "1e-320", "2147483647", "2147483648", "-2147483649", "9223372036854775807",
            "9223372036854775808", "123456789012345678901234567890", "1" + "0".repeat(1200),
            "\"\"", "\"2\"", "\"1.5\"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"true\"", "\"null\"",
            "\"\\u0000\"", "\"\\ud800\"", "\"\\udfff x\"", "\"\uD83D\uDCA5 \u2713 \u00e9\"", "\"<|im_start|>\"",
            "\"{{ 7*7 }}\"",
            "[]", "[null]", "[1, 2]", "[[1]]", "[[]]", "[\"a\", null]", "[\"\"]", "[-1]", "[99999]", "[1.5]", "[true]",
            "{}", "{\"a\": null}", "{\"type\": \"text\"}", "{\"type\": \"json_object\"}", "{\"5\": 100}",
            "{\"5\": 1e308}", "{\"include_usage\": true}", "[{\"role\": \"user\", \"content\": \"Hi\"}]",
            "[{\"type\": \"text\", \"text\": \"Hi\"}]",
    };
    private static final String[] NULL_INSIDE = {"[null]", "[1, null]", "[\"a\", null]", "[[null]]", "[[1, null]]",
            "{\"5\": null}", "{\"a\": [null]}", "[{\"role\": \"user\", \"content\": null}, null]"};
    private static final String[] ODD_KEYS = {"", "-1", "abc", "99999999999", "1.5", "5", " 5", "0x10", "\\u0000",
            "null"};
    private static final String[] DESCRIPTIVE = {"user", "store", "metadata", "service_tier", "request_id",
            "not_a_field",
            "MODEL", "max_tokens ", "\\u0000", ""};

    private final AtomicInteger tried = new AtomicInteger();
    private final AtomicInteger ok = new AtomicInteger();
    private final AtomicInteger clientErrors = new AtomicInteger();
    private final AtomicInteger serverErrors = new AtomicInteger();
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());

    /** One mutated body and where it goes. */
    private record Body(String path, byte[] bytes, String what) {}

    @Test
    void mutatedBodiesNeverFailTheServer() throws Exception {
        long start = System.nanoTime();
        Random seeds = new Random(SEED);
        List<Future<?>> runs = new ArrayList<>(BODIES);
        try (ExecutorService clients = Executors.newFixedThreadPool(CLIENTS)) {
            for (int i = 0; i < BODIES; i++) {
                long seed = seeds.nextLong();
                runs.add(clients.submit(() -> send(body(new Random(seed)))));
            }
            for (Future<?> f : runs) f.get();
        }
        System.out.printf("fuzz seed=%d: tried %d, 2xx %d, 4xx %d, 5xx %d, failures %d, %.1f s%n", SEED,
                tried.get(), ok.get(), clientErrors.get(), serverErrors.get(), failures.size(),
                (System.nanoTime() - start) / 1e9);
        assertThat(failures).as("bodies the server mishandled").isEmpty();
        assertThat(tried.get()).isEqualTo(BODIES);
        assertThat(ok.get()).as("some bodies must still be valid").isPositive();
        assertThat(clientErrors.get()).as("and most must be refused").isGreaterThan(BODIES / 3);

        assertThat(get("/health").statusCode()).isEqualTo(200);
        JsonNode normal = postJson("/v1/completions", """
                {"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}""");
        assertThat(ONCE_UPON_A_TIME_32).startsWith(normal.get("choices").get(0).get("text").asString());
        postJson("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}""");
        // KvLeakCheck (from the base class) then checks that no body left KV blocks behind.
    }

    private void send(Body b) {
        tried.incrementAndGet();
        HttpRequest request = HttpRequest.newBuilder(uri(b.path())).timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(b.bytes())).build();
        HttpResponse<String> r;
        try {
            r = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            failures.add("timeout after " + TIMEOUT + ": " + b.what());
            return;
        } catch (Exception e) {
            failures.add(e + ": " + b.what());
            return;
        }
        int status = r.statusCode();
        if (status >= 500) {
            serverErrors.incrementAndGet();
            failures.add(status + " " + shorten(r.body()) + ": " + b.what());
        } else if (status >= 400) {
            clientErrors.incrementAndGet();
            String problem = errorShapeProblem(r);
            if (problem != null) failures.add(problem + ": " + b.what());
        } else {
            ok.incrementAndGet();
            boolean sse = r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream");
            if (sse && !r.body().endsWith("data: [DONE]\n\n")) {
                failures.add("unfinished stream " + shorten(r.body()) + ": " + b.what());
            }
        }
    }

    /** Null when the body is OpenAI's error: {"error": {"message", "type", "param", "code"}}, code = the status. */
    private String errorShapeProblem(HttpResponse<String> r) {
        if (!r.headers().firstValue("Content-Type").orElse("").startsWith("application/json")) {
            return "4xx without JSON";
        }
        JsonNode body;
        try {
            body = json.readTree(r.body());
        } catch (RuntimeException e) {
            return "4xx body is not JSON: " + shorten(r.body());
        }
        JsonNode e = body.get("error");
        boolean shaped = body.size() == 1 && e != null && e.isObject()
                && e.path("message").isString() && !e.path("message").stringValue().isBlank()
                && e.path("type").isString()
                && e.has("param") && (e.get("param").isNull() || e.get("param").isString())
                && e.path("code").isInt() && e.get("code").intValue() == r.statusCode()
                && !r.body().contains("\tat ");
        return shaped ? null : "4xx not in OpenAI's error shape: " + shorten(r.body());
    }

    // ---- bodies ----

    private Body body(Random r) {
        boolean chat = r.nextBoolean();
        ObjectNode tree = chat ? chatBase() : completionBase();
        if (r.nextInt(4) == 0) {
            tree.put("stream", true);
            if (r.nextBoolean()) tree.putObject("stream_options").put("include_usage", true);
        }
        List<String> fills = new ArrayList<>();
        List<String> what = new ArrayList<>();
        int mutations = 1 + r.nextInt(3);
        for (int m = 0; m < mutations; m++) what.add(mutateTree(r, tree, chat, fills));
        String text = json.writeValueAsString(tree);
        for (int k = 0; k < fills.size(); k++) text = text.replace("\"" + HOLE.formatted(k) + "\"", fills.get(k));
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (r.nextInt(5) == 0) {
            Raw raw = mutateBytes(r, bytes);
            what.add(raw.what());
            bytes = raw.bytes();
        }
        String path = chat ? "/v1/chat/completions" : "/v1/completions";
        return new Body(path, bytes, path + " " + what + " " + shorten(new String(bytes, StandardCharsets.UTF_8)));
    }

    private ObjectNode completionBase() {
        ObjectNode o = json.createObjectNode();
        o.put("model", MODEL).put("prompt", "Once upon a time").put("max_tokens", 3);
        o.put("temperature", 0.7).put("seed", 7);
        return o;
    }

    private ObjectNode chatBase() {
        ObjectNode o = json.createObjectNode();
        o.put("model", MODEL);
        o.putArray("messages").addObject().put("role", "user").put("content", "Tell me a story");
        // Both limits, so that one mutation alone never lets a reply run to the context length.
        o.put("max_tokens", 3).put("max_completion_tokens", 4);
        return o;
    }

    /** One change to the tree; odd values go in as holes filled with raw JSON text. Returns what it did. */
    private String mutateTree(Random r, ObjectNode tree, boolean chat, List<String> fills) {
        List<String> fields = fieldNames(chat);
        switch (r.nextInt(8)) {
            case 0, 1 -> {
                String f = fields.get(r.nextInt(fields.size()));
                tree.put(f, hole(fills, oddValue(r)));
                return f + "=" + last(fills);
            }
            case 7 -> {
                // A null inside a list or map, where a request's code may take the element for granted.
                String f = fields.get(r.nextInt(fields.size()));
                tree.put(f, hole(fills, NULL_INSIDE[r.nextInt(NULL_INSIDE.length)]));
                return f + "=" + last(fills);
            }
            case 2 -> {
                String f = DESCRIPTIVE[r.nextInt(DESCRIPTIVE.length)];
                tree.put(f, hole(fills, oddValue(r)));
                return f + "=" + last(fills);
            }
            case 3 -> {
                List<String> present = new ArrayList<>(tree.propertyNames());
                present.removeAll(List.of("max_tokens", "max_completion_tokens"));
                if (present.isEmpty()) return "nothing to remove";
                String f = present.get(r.nextInt(present.size()));
                tree.remove(f);
                return "-" + f;
            }
            case 4 -> {
                if (!chat) {
                    ArrayNode prompt = tree.putArray("prompt");
                    for (int i = r.nextInt(4); i >= 0; i--) {
                        if (r.nextBoolean()) prompt.add(r.nextInt(600) - 50);
                        else prompt.add(hole(fills, oddValue(r)));
                    }
                    return "prompt=[...]";
                }
                ObjectNode message = (ObjectNode) messages(tree).get(0);
                String f = new String[]{"role", "content", "name", "tool_calls", "tool_call_id"}[r.nextInt(5)];
                message.put(f, hole(fills, oddValue(r)));
                return "messages[0]." + f + "=" + last(fills);
            }
            case 5 -> {
                if (chat) {
                    messages(tree).add(hole(fills, oddValue(r)));
                    return "messages[+]=" + last(fills);
                }
                tree.put("prompt", hole(fills, oddValue(r)));
                return "prompt=" + last(fills);
            }
            default -> {
                String f = new String[]{"logit_bias", "stream_options", "chat_template_kwargs", "stop"}[r.nextInt(4)];
                ObjectNode o = tree.putObject(f);
                String key = ODD_KEYS[r.nextInt(ODD_KEYS.length)];
                o.put(f.equals("stream_options") ? "include_usage" : key, hole(fills, oddValue(r)));
                return f + "." + key + "=" + last(fills);
            }
        }
    }

    /** Bytes after a raw mutation, and what it did. */
    private record Raw(byte[] bytes, String what) {}

    /** A change to the written bytes: JSON that no tree can hold, or no JSON at all. */
    private static Raw mutateBytes(Random r, byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int at = r.nextInt(bytes.length);
        String what;
        switch (r.nextInt(8)) {
            case 0 -> {
                out.write(bytes, 0, at);
                what = "truncated at " + at;
            }
            case 1 -> {
                // A stray byte, a bad continuation, an encoded surrogate, a 5-byte form, a cut-off sequence.
                byte[] bad = new byte[][]{{(byte) 0xff}, {(byte) 0xc3, 0x28}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
                        {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
                        {(byte) 0xe2, (byte) 0x82}}[r.nextInt(5)];
                // Inside a string value when there is one: the JSON stays well-formed apart from the bytes.
                int q = indexOf(bytes, (byte) '"', 12);
                int pos = q > 0 ? q + 1 : at;
                out.write(bytes, 0, pos);
                out.writeBytes(bad);
                out.write(bytes, pos, bytes.length - pos);
                what = "invalid UTF-8 " + Arrays.toString(bad);
            }
            case 2 -> {
                String dup = "{\"max_tokens\": " + oddValue(r) + ", \"model\": " + oddValue(r) + ", ";
                out.writeBytes(dup.getBytes(StandardCharsets.UTF_8));
                out.write(bytes, 1, bytes.length - 1);
                what = "duplicate keys first";
            }
            case 3 -> {
                int depth = 1 + r.nextInt(6000);
                out.writeBytes("[".repeat(depth).getBytes(StandardCharsets.UTF_8));
                out.writeBytes(bytes);
                out.writeBytes("]".repeat(depth).getBytes(StandardCharsets.UTF_8));
                what = "wrapped in " + depth + " arrays";
            }
            case 4 -> {
                String field = ",\"x\":" + nested(r, 1 + r.nextInt(6000)) + "}";
                out.write(bytes, 0, bytes.length - 1);
                out.writeBytes(field.getBytes(StandardCharsets.UTF_8));
                what = "deeply nested field";
            }
            case 5 -> {
                byte[] copy = bytes.clone();
                copy[at] = (byte) r.nextInt(256);
                out.writeBytes(copy);
                what = "byte " + at + " flipped";
            }
            case 6 -> {
                String[] whole = {"", "null", "[]", "{}", "\"Hi\"", "42", "{\"\":", "}", "{\"prompt\"}", "{,}",
                        "\uFEFF{}", "{\"messages\": [], \"prompt\": []}"};
                out.writeBytes(whole[r.nextInt(whole.length)].getBytes(StandardCharsets.UTF_8));
                what = "whole body replaced";
            }
            default -> {
                // A huge string: tokenized ones stay modest (20 KB), others may be 1 MB.
                String[] untokenized = {"user", "stop", "cache_salt", "model", "suffix"};
                String field = r.nextBoolean() ? "prompt" : untokenized[r.nextInt(untokenized.length)];
                int length = field.equals("prompt") ? 20_000 : 1 + r.nextInt(1_000_000);
                String huge = ",\"" + field + "\":\"" + "a\u00e9\u4e16 ".repeat(length / 4) + "\"}";
                out.write(bytes, 0, bytes.length - 1);
                out.writeBytes(huge.getBytes(StandardCharsets.UTF_8));
                what = "huge " + field;
            }
        }
        return new Raw(out.toByteArray(), what);
    }

    private static String nested(Random r, int depth) {
        if (r.nextBoolean()) return "[".repeat(depth) + "]".repeat(depth);
        return "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
    }

    private static String oddValue(Random r) {
        return switch (r.nextInt(10)) {
            case 0 -> nested(r, 1 + r.nextInt(700));
            case 1 -> Long.toString(r.nextLong() >> r.nextInt(64));
            case 2 -> Double.toString((r.nextDouble() - 0.5) * Math.pow(10, r.nextInt(40) - 20));
            case 3 -> {
                StringBuilder sb = new StringBuilder("\"");
                for (int i = r.nextInt(40); i > 0; i--) {
                    char c = (char) ('!' + r.nextInt(94));
                    sb.append(c == '"' || c == '\\' ? '_' : c);
                }
                yield sb.append('"').toString();
            }
            default -> ODD_VALUES[r.nextInt(ODD_VALUES.length)];
        };
    }

    private static String hole(List<String> fills, String raw) {
        fills.add(raw);
        return HOLE.formatted(fills.size() - 1);
    }

    private static String last(List<String> fills) {
        return shorten(fills.getLast());
    }

    /** The conversation, put back when an earlier mutation replaced it: the next one needs a message to change. */
    private static ArrayNode messages(ObjectNode tree) {
        if (tree.get("messages") instanceof ArrayNode a && !a.isEmpty() && a.get(0) instanceof ObjectNode) return a;
        ArrayNode a = tree.putArray("messages");
        a.addObject().put("role", "user").put("content", "Tell me a story");
        return a;
    }

    /** Every field either request defines (its record components), plus those refused when set. */
    private static List<String> fieldNames(boolean chat) {
        Set<String> names = new LinkedHashSet<>();
        for (var c : (chat ? ChatCompletionRequest.class : CompletionRequest.class).getRecordComponents()) {
            names.add(c.getName().replaceAll("([A-Z])", "_$1").toLowerCase());
        }
        names.addAll((chat ? UnsupportedFields.CHAT : UnsupportedFields.COMPLETIONS).params());
        return List.copyOf(names);
    }

    private static int indexOf(byte[] bytes, byte b, int from) {
        for (int i = from; i < bytes.length; i++) if (bytes[i] == b) return i;
        return -1;
    }

    private static String shorten(String s) {
        return s.length() <= 160 ? s : s.substring(0, 160) + "...(" + s.length() + " chars)";
    }
}
