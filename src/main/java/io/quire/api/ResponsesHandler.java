package io.quire.api;

import io.quire.api.template.ChatTemplateException;
import io.quire.api.tools.ChatOutputParser;
import io.quire.api.tools.ForcedToolCalls;
import io.quire.api.tools.ParsedText;
import io.quire.api.tools.ToolChoice;
import io.quire.api.wire.ErrorResponse;
import io.quire.api.wire.ModelResponse;
import io.quire.api.wire.ResponseEvents;
import io.quire.api.wire.ResponsesRequest;
import io.quire.engine.FinishReason;
import io.quire.engine.GenerationService;
import io.quire.engine.RequestOutput;
import io.quire.engine.SamplingParams;
import io.quire.engine.SequenceDelta;
import io.quire.engine.structured.ConstraintSpec;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * {@code POST /v1/responses}, OpenAI's Responses API for text and function calls: the input items
 * become chat messages ({@link ResponseInput}) and go through the chat template, tools and parsers as a
 * chat completion's would; the reply comes back as output items ({@link ResponseItems}: reasoning when
 * a reasoning parser runs, the message, function calls), whole or as the API's stream of events.
 * Nothing is stored ({@code store} is answered false), so {@code previous_response_id} is refused.
 */
@Component
public class ResponsesHandler {
    private static final SentFieldNames NAMES = new SentFieldNames("input", "max_output_tokens");

    private final GenerationService engine;
    private final JsonMapper json;
    private final RequestReader reader;
    private final ChatPrompts prompts;
    private final ChatParsers parsers;

    public ResponsesHandler(GenerationService engine, JsonMapper json, RequestReader reader, ChatPrompts prompts,
                            ChatParsers parsers) {
        this.engine = engine;
        this.json = json;
        this.reader = reader;
        this.prompts = prompts;
        this.parsers = parsers;
    }

    public Mono<ServerResponse> respond(ServerRequest request) {
        return reader.read(request, ResponsesRequest.class, UnsupportedFields.RESPONSES)
                .flatMap(r -> handle(request, r));
    }

    /** What stays the same in every state of one response: its id, time and the settings it ran with. */
    private record Shape(String id, long createdAt, ResponsesRequest request, String model, SamplingParams params,
                         boolean parallel) {
        /**
         * The response in {@code status}: {@code incomplete} says why ({@code max_output_tokens}, the only
         * reason that applies here); {@code error} only when {@code failed}.
         */
        ModelResponse state(String status, List<Object> output, ModelResponse.Usage usage, Map<String, String> error) {
            ResponsesRequest r = request;
            ModelResponse.IncompleteDetails incomplete = "incomplete".equals(status)
                    ? new ModelResponse.IncompleteDetails("max_output_tokens") : null;
            // the settings as sent (a float's nearest double would show 0.7 as 0.699999988...), else the defaults
            double temperature = r.temperature() != null ? r.temperature()
                    : Double.parseDouble(Float.toString(params.temperature()));
            double topP = r.topP() != null ? r.topP() : Double.parseDouble(Float.toString(params.topP()));
            Object toolChoice = r.toolChoice() != null && !r.toolChoice().isNull() ? r.toolChoice() : "auto";
            Object tools = r.tools() != null && !r.tools().isNull() ? r.tools() : List.of();
            return new ModelResponse(id, ModelResponse.OBJECT, createdAt, status, error, incomplete, r.instructions(),
                    r.maxOutputTokens(), model, output, r.parallelToolCalls() == null || r.parallelToolCalls(), null,
                    Map.of(), false, temperature, Map.of("format", Map.of("type", "text")), toolChoice, tools,
                    topP, "disabled", usage, r.user(), r.metadata() == null ? Map.of() : r.metadata());
        }
    }

    private Mono<ServerResponse> handle(ServerRequest request, ResponsesRequest r) {
        String adapter = OpenAiFormat.adapterOf(r.model(), engine);
        RequestedTools tools = RequestedTools.of(ResponseInput.chatTools(r.tools(), json),
                ResponseInput.chatToolChoice(r.toolChoice(), json), r.parallelToolCalls(), json);
        String rendered = rendered(r, tools);
        int[] tokens = prompts.tokenize(rendered, true);
        SamplingParams params = SamplingParamsMapper.toParams(r, r.maxOutputTokens(), null,
                engine.defaultParams(r.maxOutputTokens()))
                .withBadWordsTokenIds(BadWords.tokenIds(r.badWords(), engine.tokenizer()));
        // As on the chat endpoint: calls may be written with special tokens; a forced call is held to its JSON.
        if (tools.choice().mode() == ToolChoice.Mode.AUTO) params = params.withSkipSpecialTokens(false);
        StructuredOutputs.Requested constraint = null;
        if (tools.choice().forced()) {
            constraint = new StructuredOutputs.Requested(ConstraintSpec.jsonSchema(
                    ForcedToolCalls.schema(tools.choice(), tools.parameters(), tools.parallel())), "tool_choice");
            params = params.withConstraint(constraint.spec());
        }
        Supplier<ChatOutputParser> parser = parsers.forRequest(tools, true, false);
        String id = OpenAiFormat.newId("resp_");
        Shape shape = new Shape(id, OpenAiFormat.nowSeconds(), r, OpenAiFormat.modelName(adapter, engine), params,
                tools.parallel());
        SamplingParams sampling = params;
        Flux<RequestOutput> submitted = StructuredOutputs.submit(constraint, () -> NAMES.submit(() ->
                engine.generate(List.of(id), List.of(tokens), sampling, r.cacheSalt(), r.priorityOrZero(), adapter)
                        .getFirst()));
        EngineRequestScope.of(request, engine).register(List.of(id));
        Flux<RequestOutput> outputs = submitted.publishOn(Schedulers.parallel());
        ChatOutputParser p = parser == null ? null : parser.get();
        return Boolean.TRUE.equals(r.stream()) ? stream(shape, outputs, tokens.length, p)
                : whole(shape, outputs, tokens.length, p);
    }

    /** The chat template's rendering of the input; its refusals name {@code input}, this API's field. */
    private String rendered(ResponsesRequest r, RequestedTools tools) {
        try {
            return prompts.render(ResponseInput.messages(r, json), tools.forTemplate(), true, Map.of());
        } catch (ChatTemplateException e) {
            throw ApiException.badRequest("input", "chat template: " + e.getMessage());
        } catch (ApiException e) {
            if (!"messages".equals(e.param())) throw e;
            throw new ApiException(e.status(), "input", e.getMessage().replace("messages", "input"));
        }
    }

    /** A delta's text through the parser (or as it is, without one). */
    private static ParsedText parsed(ChatOutputParser parser, String text) {
        return parser == null ? new ParsedText("", text, List.of()) : parser.push(text);
    }

    /** The status a finished request gives: completed, incomplete (max_output_tokens) or cancelled (aborted). */
    private static String status(RequestOutput last) {
        FinishReason reason = last == null || last.deltas().isEmpty() ? null : last.deltas().getFirst().finishReason();
        return reason == FinishReason.STOP ? "completed" : reason == FinishReason.LENGTH ? "incomplete" : "cancelled";
    }

    private static ModelResponse.Usage usage(RequestOutput last, int inputTokens) {
        return ModelResponse.Usage.of(inputTokens, last == null ? 0 : last.completionTokens());
    }

    /** The finished response as one JSON body. */
    private Mono<ServerResponse> whole(Shape shape, Flux<RequestOutput> outputs, int inputTokens,
                                       ChatOutputParser parser) {
        ResponseItems items = new ResponseItems((type, data) -> "", new int[1], shape.parallel());
        AtomicReference<RequestOutput> last = new AtomicReference<>();
        return outputs.doOnNext(out -> {
            last.set(out);
            for (SequenceDelta d : out.deltas()) if (d.text() != null) items.push(parsed(parser, d.text()));
        }).then(Mono.fromCallable(() -> {
            if (parser != null) items.push(parser.finish());
            String status = status(last.get());
            items.close(status.equals("completed") ? "completed" : "incomplete");
            return shape.state(status, items.output(), usage(last.get(), inputTokens), null);
        })).flatMap(body -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body));
    }

    /** The response as the Responses API's events, each {@code event: <type>} then its JSON. */
    private Mono<ServerResponse> stream(Shape shape, Flux<RequestOutput> outputs, int inputTokens,
                                        ChatOutputParser parser) {
        int[] seq = new int[1];
        ResponseItems items = new ResponseItems(this::event, seq, shape.parallel());
        AtomicReference<RequestOutput> last = new AtomicReference<>();
        Flux<String> head = Flux.defer(() -> Flux.just(
                event("response.created", new ResponseEvents.Lifecycle("response.created", seq[0]++,
                        shape.state("in_progress", List.of(), null, null))),
                event("response.in_progress", new ResponseEvents.Lifecycle("response.in_progress", seq[0]++,
                        shape.state("in_progress", List.of(), null, null)))));
        Flux<String> deltas = outputs.concatMap(out -> {
            last.set(out);
            List<String> events = new ArrayList<>();
            for (SequenceDelta d : out.deltas()) {
                if (d.text() != null && !d.text().isEmpty()) events.addAll(items.push(parsed(parser, d.text())));
            }
            return Flux.fromIterable(events);
        });
        Flux<String> tail = Flux.defer(() -> {
            List<String> events = new ArrayList<>();
            if (parser != null) events.addAll(items.push(parser.finish()));
            String status = status(last.get());
            events.addAll(items.close(status.equals("completed") ? "completed" : "incomplete"));
            ModelResponse done = shape.state(status, items.output(), usage(last.get(), inputTokens), null);
            // OpenAI's stream has no event for a cancelled response: it ends as an incomplete one would
            String end = status.equals("completed") ? "response.completed" : "response.incomplete";
            events.add(event(end, new ResponseEvents.Lifecycle(end, seq[0]++, done)));
            return Flux.fromIterable(events);
        });
        Flux<String> events = head.concatWith(deltas).concatWith(tail).onErrorResume(e -> {
            // OpenAI's error event, then the response failed, with what it had made: so a client's stream ends
            ErrorResponse.Error error = ErrorBodies.of(e).body().error();
            String code = error.code() >= 500 ? "server_error" : error.code() == 429 ? "rate_limit_exceeded"
                    : "invalid_prompt";
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("type", "error");
            event.put("sequence_number", seq[0]++);
            event.put("code", code);
            event.put("message", error.message());
            event.put("param", error.param());
            int at = seq[0];
            items.close("incomplete");  // the open items end as they are, in the failed response (no events)
            seq[0] = at;
            ModelResponse failed = shape.state("failed", items.output(), usage(last.get(), inputTokens),
                    Map.of("code", code, "message", error.message()));
            return Flux.just(event("error", event),
                    event("response.failed", new ResponseEvents.Lifecycle("response.failed", seq[0]++, failed)));
        });
        return Sse.respondWithoutDone(events);
    }

    private String event(String type, Object data) {
        return "event: " + type + "\ndata: " + json.writeValueAsString(data) + "\n\n";
    }
}
