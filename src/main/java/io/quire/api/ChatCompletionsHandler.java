package io.quire.api;

import io.quire.api.wire.ChatChoice;
import io.quire.api.wire.ChatChunkChoice;
import io.quire.api.wire.ChatCompletionChunk;
import io.quire.api.wire.ChatCompletionRequest;
import io.quire.api.wire.ChatCompletionResponse;
import io.quire.api.wire.ChatDelta;
import io.quire.api.wire.ChatLogprobs;
import io.quire.api.wire.ChatResponseMessage;
import io.quire.api.wire.Usage;
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
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code POST /v1/chat/completions}: renders the conversation with the model's chat template and
 * generates the assistant's reply. A stream starts with one {@code delta.role = "assistant"}
 * chunk per choice, then one chunk per choice and engine step with new text.
 */
@Component
public class ChatCompletionsHandler {
    private final GenerationService engine;
    private final ChatPrompts prompts;
    private final JsonMapper json;
    private final LogprobsFormatter logprobs;
    private final RequestReader reader;

    public ChatCompletionsHandler(GenerationService engine, ChatPrompts prompts, JsonMapper json,
                                  RequestReader reader) {
        this.engine = engine;
        this.prompts = prompts;
        this.json = json;
        this.reader = reader;
        this.logprobs = new LogprobsFormatter(engine.tokenizer());
    }

    public Mono<ServerResponse> complete(ServerRequest request) {
        // The reader hands the request over on a worker thread: rendering, tokenizing and queueing
        // stay off the event loop.
        return reader.read(request, ChatCompletionRequest.class, UnsupportedFields.CHAT).flatMap(r -> handle(request, r));
    }

    private Mono<ServerResponse> handle(ServerRequest request, ChatCompletionRequest r) {
        OpenAiFormat.checkModel(r.model(), engine.modelName());
        boolean wantLogprobs = Boolean.TRUE.equals(r.logprobs());
        if (r.topLogprobs() != null && !wantLogprobs) {
            throw ApiException.badRequest("top_logprobs", "top_logprobs requires logprobs to be true");
        }
        if (r.topLogprobs() != null && (r.topLogprobs() < 0 || r.topLogprobs() > SamplingParamsMapper.MAX_LOGPROBS)) {
            throw ApiException.badRequest("top_logprobs", "top_logprobs must be between 0 and " + SamplingParamsMapper.MAX_LOGPROBS);
        }
        Integer logprobCount = wantLogprobs ? (r.topLogprobs() == null ? 0 : r.topLogprobs()) : null;
        Integer maxTokens = r.maxCompletionTokens() != null ? r.maxCompletionTokens() : r.maxTokens();
        Map<String, Object> kwargs = r.chatTemplateKwargs() == null ? Map.of() : r.chatTemplateKwargs();
        String rendered = prompts.render(r.messages(), r.addGenerationPrompt() == null || r.addGenerationPrompt(), kwargs);
        int[] tokens = prompts.tokenize(rendered, true);
        SamplingParams params = SamplingParamsMapper.toParams(r, maxTokens, logprobCount);
        String id = OpenAiFormat.newId("chatcmpl-");
        long created = OpenAiFormat.nowSeconds();
        Flux<RequestOutput> submitted = engine.generate(id, tokens, params, r.cacheSalt());
        // The exchange's scope aborts the request when the exchange ends, whenever the client leaves.
        EngineRequestScope.of(request, engine).register(List.of(id));
        // Formatting and writing happen off the engine's thread, so they never delay its next step.
        Flux<RequestOutput> outputs = submitted.publishOn(Schedulers.parallel());
        return r.streaming() ? stream(r, id, created, outputs, params.n(), wantLogprobs) : collect(id, created, outputs, params.n(), wantLogprobs);
    }

    private Mono<ServerResponse> stream(ChatCompletionRequest r, String id, long created, Flux<RequestOutput> outputs, int n, boolean wantLogprobs) {
        String model = engine.modelName();
        RequestOutput[] last = new RequestOutput[1];
        Flux<String> head = Flux.range(0, n).map(i -> chunk(id, created, model, new ChatChunkChoice(i, new ChatDelta("assistant", ""), null, null)));
        Flux<String> body = outputs.concatMap(out -> {
            last[0] = out;
            List<String> events = new ArrayList<>(out.deltas().size());
            for (SequenceDelta d : out.deltas()) {
                boolean hasLogprobs = d.logprobs() != null && !d.logprobs().isEmpty();
                boolean hasText = d.text() != null && !d.text().isEmpty();
                if (!hasText && d.finishReason() == null && !hasLogprobs) continue;
                ChatLogprobs lp = wantLogprobs ? logprobs.chat(d.logprobs() == null ? List.of() : d.logprobs()) : null;
                events.add(chunk(id, created, model, new ChatChunkChoice(d.index(), new ChatDelta(null, hasText ? d.text() : null), lp,
                        OpenAiFormat.finishReason(d.finishReason()))));
            }
            return Flux.fromIterable(events);
        });
        Flux<String> events = head.concatWith(body);
        if (r.includeUsage()) {
            events = events.concatWith(Flux.defer(() -> Flux.just(Sse.event(json,
                    new ChatCompletionChunk(id, ChatCompletionChunk.OBJECT, created, model, List.of(), usage(last[0]))))));
        }
        return Sse.respond(json, events);
    }

    private String chunk(String id, long created, String model, ChatChunkChoice choice) {
        return Sse.event(json, new ChatCompletionChunk(id, ChatCompletionChunk.OBJECT, created, model, List.of(choice), null));
    }

    private Mono<ServerResponse> collect(String id, long created, Flux<RequestOutput> outputs, int n, boolean wantLogprobs) {
        TreeMap<Integer, ChoiceAccumulator> acc = new TreeMap<>();
        RequestOutput[] last = new RequestOutput[1];
        return outputs.doOnNext(out -> {
            synchronized (acc) {
                last[0] = out;
                for (SequenceDelta d : out.deltas()) acc.computeIfAbsent(d.index(), k -> new ChoiceAccumulator()).add(d);
            }
        }).then(Mono.fromCallable(() -> {
            List<ChatChoice> choices = new ArrayList<>(n);
            synchronized (acc) {
                for (int i = 0; i < n; i++) {
                    ChoiceAccumulator a = acc.getOrDefault(i, new ChoiceAccumulator());
                    choices.add(new ChatChoice(i, new ChatResponseMessage("assistant", a.text.toString()),
                            wantLogprobs ? logprobs.chat(a.logprobs) : null, OpenAiFormat.finishReason(a.finishReason)));
                }
            }
            return new ChatCompletionResponse(id, ChatCompletionResponse.OBJECT, created, engine.modelName(), choices, usage(last[0]));
        })).flatMap(body -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body));
    }

    private static Usage usage(RequestOutput last) {
        return last == null ? Usage.of(0, 0) : Usage.of(last.promptTokens(), last.completionTokens());
    }
}
