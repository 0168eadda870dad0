package io.quire.api;

import io.quire.api.wire.ChatMessage;
import io.quire.api.wire.ErrorResponse;
import io.quire.api.wire.ModelResponse;
import io.quire.api.wire.ResponseEvents;
import io.quire.api.wire.ResponsesRequest;
import io.quire.engine.FinishReason;
import io.quire.engine.GenerationService;
import io.quire.engine.RequestOutput;
import io.quire.engine.SamplingParams;
import io.quire.engine.SequenceDelta;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.StringNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code POST /v1/responses}, OpenAI's Responses API for text: the input messages (after the
 * instructions, as a system message) go through the chat template like a chat completion's, and the
 * reply comes back as one assistant message item, whole or as the API's stream of events. Nothing is
 * stored ({@code store} is answered false), so {@code previous_response_id} is refused.
 */
@Component
public class ResponsesHandler {
    private static final SentFieldNames NAMES = new SentFieldNames("input", "max_output_tokens");

    private final GenerationService engine;
    private final JsonMapper json;
    private final RequestReader reader;
    private final ChatPrompts prompts;

    public ResponsesHandler(GenerationService engine, JsonMapper json, RequestReader reader, ChatPrompts prompts) {
        this.engine = engine;
        this.json = json;
        this.reader = reader;
        this.prompts = prompts;
    }

    public Mono<ServerResponse> respond(ServerRequest request) {
        return reader.read(request, ResponsesRequest.class, UnsupportedFields.RESPONSES)
                .flatMap(r -> handle(request, r));
    }

    /** What stays the same in every state of one response: its ids, time and the settings it ran with. */
    private record Shape(String id, String messageId, long createdAt, ResponsesRequest request, String model,
                         SamplingParams params) {
        /**
         * The response in {@code status}: {@code incomplete} says why ({@code max_output_tokens}, the only
         * reason that applies here); {@code error} only when {@code failed}.
         */
        ModelResponse state(String status, List<ModelResponse.Message> output, ModelResponse.Usage usage,
                            Map<String, String> error) {
            ResponsesRequest r = request;
            ModelResponse.IncompleteDetails incomplete = "incomplete".equals(status)
                    ? new ModelResponse.IncompleteDetails("max_output_tokens") : null;
            // the settings as sent (a float's nearest double would show 0.7 as 0.699999988...), else the defaults
            double temperature = r.temperature() != null ? r.temperature()
                    : Double.parseDouble(Float.toString(params.temperature()));
            double topP = r.topP() != null ? r.topP() : Double.parseDouble(Float.toString(params.topP()));
            String toolChoice = r.toolChoice() != null && r.toolChoice().isString() ? r.toolChoice().stringValue()
                    : "auto";
            return new ModelResponse(id, ModelResponse.OBJECT, createdAt, status, error, incomplete, r.instructions(),
                    r.maxOutputTokens(), model, output, r.parallelToolCalls() == null || r.parallelToolCalls(), null,
                    Map.of(), false, temperature, Map.of("format", Map.of("type", "text")), toolChoice, List.of(),
                    topP, "disabled", usage, r.user(), r.metadata() == null ? Map.of() : r.metadata());
        }
    }

    private Mono<ServerResponse> handle(ServerRequest request, ResponsesRequest r) {
        OpenAiFormat.checkModel(r.model(), engine.modelName());
        int[] tokens = prompts.tokenize(prompts.render(messages(r), List.of(), true, Map.of()), true);
        SamplingParams params = SamplingParamsMapper.toParams(r, r.maxOutputTokens(), null,
                engine.defaultParams(r.maxOutputTokens()))
                .withBadWordsTokenIds(BadWords.tokenIds(r.badWords(), engine.tokenizer()));
        String id = OpenAiFormat.newId("resp_");
        Shape shape = new Shape(id, OpenAiFormat.newId("msg_"), OpenAiFormat.nowSeconds(), r, engine.modelName(),
                params);
        int priority = r.priority() == null ? 0 : r.priority();
        Flux<RequestOutput> submitted = NAMES.submit(() -> engine.generate(List.of(id), List.of(tokens), params,
                r.cacheSalt(), priority).getFirst());
        EngineRequestScope.of(request, engine).register(List.of(id));
        Flux<RequestOutput> outputs = submitted.publishOn(Schedulers.parallel());
        return Boolean.TRUE.equals(r.stream()) ? stream(shape, outputs, tokens.length) : whole(shape, outputs,
                tokens.length);
    }

    /** The input as chat messages: the instructions as a system message, then a string or message items. */
    private static List<ChatMessage> messages(ResponsesRequest r) {
        List<ChatMessage> out = new ArrayList<>();
        if (r.instructions() != null) out.add(message("system", r.instructions()));
        JsonNode input = r.input();
        if (input == null || input.isNull()) throw ApiException.badRequest("input", "input is required");
        if (input.isString()) {
            out.add(message("user", input.stringValue()));
            return out;
        }
        if (!input.isArray() || input.isEmpty()) {
            throw ApiException.badRequest("input", "input must be a string or a non-empty array of messages");
        }
        for (int i = 0; i < input.size(); i++) out.add(item(input.get(i), "input[" + i + "]"));
        return out;
    }

    /** A message item: role user, assistant, system or developer (a system message), text content. */
    private static ChatMessage item(JsonNode item, String at) {
        if (!item.isObject()) throw ApiException.badRequest("input", at + " must be an object");
        JsonNode type = item.get("type");
        if (type != null && !type.isNull() && !(type.isString() && type.stringValue().equals("message"))) {
            throw ApiException.badRequest("input", at + ".type " + type + " is not supported by this server (only"
                    + " messages are implemented: no function calls, reasoning items or item references)");
        }
        JsonNode role = item.get("role");
        if (role == null || !role.isString() || !List.of("user", "assistant", "system", "developer")
                .contains(role.stringValue())) {
            throw ApiException.badRequest("input", at + ".role must be user, assistant, system or developer");
        }
        String r = role.stringValue().equals("developer") ? "system" : role.stringValue();
        return message(r, text(item.get("content"), at + ".content"));
    }

    /** A string, or text parts ({@code input_text}, {@code output_text}) joined by newlines. */
    private static String text(JsonNode content, String at) {
        if (content != null && content.isString()) return content.stringValue();
        if (content == null || !content.isArray()) {
            throw ApiException.badRequest("input", at + " must be a string or an array of text parts");
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < content.size(); i++) {
            JsonNode part = content.get(i);
            JsonNode type = part.get("type"), text = part.get("text");
            boolean isText = type != null && type.isString() && List.of("input_text", "output_text", "text")
                    .contains(type.stringValue());
            if (!isText || text == null || !text.isString()) {
                throw ApiException.badRequest("input", at + "[" + i + "] must be a text part ({\"type\": "
                        + "\"input_text\", \"text\": ...}); other modalities are not implemented");
            }
            if (!sb.isEmpty()) sb.append('\n');
            sb.append(text.stringValue());
        }
        return sb.toString();
    }

    private static ChatMessage message(String role, String text) {
        return new ChatMessage(role, StringNode.valueOf(text), null, null, null);
    }

    /** The finished response as one JSON body. */
    private Mono<ServerResponse> whole(Shape shape, Flux<RequestOutput> outputs, int inputTokens) {
        StringBuilder text = new StringBuilder();
        AtomicReference<RequestOutput> last = new AtomicReference<>();
        return outputs.doOnNext(out -> {
            last.set(out);
            for (SequenceDelta d : out.deltas()) if (d.text() != null) text.append(d.text());
        }).then(Mono.fromCallable(() -> finished(shape, last.get(), text.toString(), inputTokens)))
                .flatMap(body -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body));
    }

    /** The response once its request ended: completed, incomplete (max_output_tokens) or cancelled (aborted). */
    private static ModelResponse finished(Shape shape, RequestOutput last, String text, int inputTokens) {
        FinishReason reason = last == null || last.deltas().isEmpty() ? null : last.deltas().getFirst().finishReason();
        String status = reason == FinishReason.STOP ? "completed" : reason == FinishReason.LENGTH ? "incomplete"
                : "cancelled";
        return ended(shape, status, last, text, inputTokens, null);
    }

    private static ModelResponse ended(Shape shape, String status, RequestOutput last, String text, int inputTokens,
                                       Map<String, String> error) {
        // the message item's own status has no "cancelled" or "failed": it is then incomplete
        String itemStatus = status.equals("completed") ? "completed" : "incomplete";
        ModelResponse.Message message = ModelResponse.Message.of(shape.messageId(), itemStatus,
                List.of(ModelResponse.OutputText.of(text)));
        int outputTokens = last == null ? 0 : last.completionTokens();
        return shape.state(status, List.of(message), ModelResponse.Usage.of(inputTokens, outputTokens), error);
    }

    /** The response as the Responses API's events, each {@code event: <type>} then its JSON. */
    private Mono<ServerResponse> stream(Shape shape, Flux<RequestOutput> outputs, int inputTokens) {
        AtomicInteger seq = new AtomicInteger();
        StringBuilder text = new StringBuilder();
        AtomicReference<RequestOutput> last = new AtomicReference<>();
        String item = shape.messageId();
        ModelResponse.Message open = ModelResponse.Message.of(item, "in_progress", List.of());
        Flux<String> head = Flux.defer(() -> Flux.just(
                event("response.created", new ResponseEvents.Lifecycle("response.created", seq.getAndIncrement(),
                        shape.state("in_progress", List.of(), null, null))),
                event("response.in_progress", new ResponseEvents.Lifecycle("response.in_progress",
                        seq.getAndIncrement(), shape.state("in_progress", List.of(), null, null))),
                event("response.output_item.added", new ResponseEvents.Item("response.output_item.added",
                        seq.getAndIncrement(), 0, open)),
                event("response.content_part.added", new ResponseEvents.Part("response.content_part.added",
                        seq.getAndIncrement(), item, 0, 0, ModelResponse.OutputText.of("")))));
        Flux<String> deltas = outputs.concatMap(out -> {
            last.set(out);
            List<String> events = new ArrayList<>();
            for (SequenceDelta d : out.deltas()) {
                if (d.text() == null || d.text().isEmpty()) continue;
                text.append(d.text());
                events.add(event("response.output_text.delta", new ResponseEvents.TextDelta(
                        "response.output_text.delta", seq.getAndIncrement(), item, 0, 0, d.text(), List.of())));
            }
            return Flux.fromIterable(events);
        });
        Flux<String> tail = Flux.defer(() -> {
            ModelResponse done = finished(shape, last.get(), text.toString(), inputTokens);
            ModelResponse.Message message = done.output().getFirst();
            ModelResponse.OutputText part = message.content().getFirst();
            // OpenAI's stream has no event for a cancelled response: it ends as an incomplete one would
            String end = done.status().equals("completed") ? "response.completed" : "response.incomplete";
            return Flux.just(
                    event("response.output_text.done", new ResponseEvents.TextDone("response.output_text.done",
                            seq.getAndIncrement(), item, 0, 0, part.text(), List.of())),
                    event("response.content_part.done", new ResponseEvents.Part("response.content_part.done",
                            seq.getAndIncrement(), item, 0, 0, part)),
                    event("response.output_item.done", new ResponseEvents.Item("response.output_item.done",
                            seq.getAndIncrement(), 0, message)),
                    event(end, new ResponseEvents.Lifecycle(end, seq.getAndIncrement(), done)));
        });
        Flux<String> events = head.concatWith(deltas).concatWith(tail).onErrorResume(e -> {
            // OpenAI's error event, then the response failed, with what it had made: so a client's stream ends
            ErrorResponse.Error error = ErrorBodies.of(e).body().error();
            String code = error.code() >= 500 ? "server_error" : error.code() == 429 ? "rate_limit_exceeded"
                    : "invalid_prompt";
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("type", "error");
            event.put("sequence_number", seq.getAndIncrement());
            event.put("code", code);
            event.put("message", error.message());
            event.put("param", error.param());
            ModelResponse failed = ended(shape, "failed", last.get(), text.toString(), inputTokens,
                    Map.of("code", code, "message", error.message()));
            return Flux.just(event("error", event), event("response.failed", new ResponseEvents.Lifecycle(
                    "response.failed", seq.getAndIncrement(), failed)));
        });
        return Sse.respondWithoutDone(events);
    }

    private String event(String type, Object data) {
        return "event: " + type + "\ndata: " + json.writeValueAsString(data) + "\n\n";
    }
}
