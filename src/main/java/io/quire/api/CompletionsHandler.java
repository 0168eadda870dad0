package io.quire.api;

import io.quire.api.wire.CompletionChoice;
import io.quire.api.wire.CompletionLogprobs;
import io.quire.api.wire.CompletionRequest;
import io.quire.api.wire.CompletionResponse;
import io.quire.api.wire.Usage;
import io.quire.engine.GenerationService;
import io.quire.engine.RequestOutput;
import io.quire.engine.SamplingParams;
import io.quire.engine.SequenceDelta;
import io.quire.model.tokenizer.Tokenizer;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * {@code POST /v1/completions}. Several prompts in one request run as separate engine requests;
 * their choices are numbered {@code prompt * n + sequence}, as OpenAI does.
 */
@Component
public class CompletionsHandler {
    /** OpenAI's default for the completions endpoint. */
    static final int DEFAULT_MAX_TOKENS = 16;
    /** Most prompts in one request (OpenAI's limit for a batched completion). */
    static final int MAX_PROMPTS = 2048;

    private final GenerationService engine;
    private final JsonMapper json;
    private final LogprobsFormatter logprobs;
    private final RequestReader reader;

    public CompletionsHandler(GenerationService engine, JsonMapper json, RequestReader reader) {
        this.engine = engine;
        this.json = json;
        this.reader = reader;
        this.logprobs = new LogprobsFormatter(engine.tokenizer());
    }

    /** One prompt: its text (for echo) and its tokens. */
    record Prompt(String text, int[] tokens) {}

    public Mono<ServerResponse> complete(ServerRequest request) {
        // The reader hands the request over on a worker thread: tokenizing and queueing stay off the event loop.
        return reader.read(request, CompletionRequest.class, UnsupportedFields.COMPLETIONS).flatMap(r -> handle(request, r));
    }

    private Mono<ServerResponse> handle(ServerRequest request, CompletionRequest r) {
        OpenAiFormat.checkModel(r.model(), engine.modelName());
        boolean echo = Boolean.TRUE.equals(r.echo());
        if (echo && r.logprobs() != null) {
            throw ApiException.badRequest("echo", "echo together with logprobs is not supported (prompt logprobs are not computed)");
        }
        List<Prompt> prompts = prompts(r.prompt(), r.addSpecialTokens() == null || r.addSpecialTokens());
        int maxTokens = r.maxTokens() == null ? DEFAULT_MAX_TOKENS : r.maxTokens();
        SamplingParams params = SamplingParamsMapper.toParams(r, maxTokens, r.logprobs());
        String id = OpenAiFormat.newId("cmpl-");
        long created = OpenAiFormat.nowSeconds();
        List<String> ids = new ArrayList<>(prompts.size());
        List<int[]> tokens = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            ids.add(prompts.size() == 1 ? id : id + "-" + i);
            tokens.add(prompts.get(i).tokens());
        }
        // All prompts are queued or none; the exchange's scope aborts them when it ends.
        List<Flux<RequestOutput>> submitted = engine.generate(ids, tokens, params, r.cacheSalt());
        EngineRequestScope.of(request, engine).register(ids);
        List<Flux<RequestOutput>> outputs = new ArrayList<>(submitted.size());
        // Formatting and writing happen off the engine's thread, so they never delay its next step.
        for (Flux<RequestOutput> f : submitted) outputs.add(f.publishOn(Schedulers.parallel()));
        return r.streaming()
                ? stream(r, id, created, prompts, outputs, params.n(), echo)
                : collect(r, id, created, prompts, outputs, params.n(), echo);
    }

    private Mono<ServerResponse> stream(CompletionRequest r, String id, long created, List<Prompt> prompts,
                                        List<Flux<RequestOutput>> outputs, int n, boolean echo) {
        String model = engine.modelName();
        int choices = prompts.size() * n;
        int[][] offsets = new int[choices][1];
        RequestOutput[] last = new RequestOutput[prompts.size()];
        List<Flux<String>> perPrompt = new ArrayList<>(prompts.size());
        for (int p = 0; p < prompts.size(); p++) {
            int prompt = p;
            String echoText = echo ? prompts.get(p).text() : "";
            Flux<String> head = Flux.empty();
            if (echo) {
                head = Flux.range(0, n).map(s -> {
                    offsets[prompt * n + s][0] = echoText.length();
                    return chunk(id, created, model, new CompletionChoice(prompt * n + s, echoText, null, null));
                });
            }
            Flux<String> body = outputs.get(p).concatMap(out -> {
                last[prompt] = out;
                List<String> events = new ArrayList<>(out.deltas().size());
                for (SequenceDelta d : out.deltas()) {
                    boolean hasLogprobs = d.logprobs() != null && !d.logprobs().isEmpty();
                    if ((d.text() == null || d.text().isEmpty()) && d.finishReason() == null && !hasLogprobs) continue;
                    int index = prompt * n + d.index();
                    CompletionLogprobs lp = r.logprobs() == null ? null : logprobs.completion(d.logprobs() == null ? List.of() : d.logprobs(), offsets[index]);
                    events.add(chunk(id, created, model, new CompletionChoice(index, d.text() == null ? "" : d.text(), lp,
                            OpenAiFormat.finishReason(d.finishReason()))));
                }
                return Flux.fromIterable(events);
            });
            perPrompt.add(head.concatWith(body));
        }
        // Every prompt's stream at once (Flux.merge alone subscribes to 256 and parks the rest).
        Flux<String> events = Flux.merge(Flux.fromIterable(perPrompt), perPrompt.size());
        if (r.includeUsage()) {
            events = events.concatWith(Flux.defer(() -> Flux.just(Sse.event(json,
                    new CompletionResponse(id, CompletionResponse.OBJECT, created, model, List.of(), usage(last))))));
        }
        return Sse.respond(json, events);
    }

    private String chunk(String id, long created, String model, CompletionChoice choice) {
        return Sse.event(json, new CompletionResponse(id, CompletionResponse.OBJECT, created, model, List.of(choice), null));
    }

    private Mono<ServerResponse> collect(CompletionRequest r, String id, long created, List<Prompt> prompts,
                                         List<Flux<RequestOutput>> outputs, int n, boolean echo) {
        TreeMap<Integer, ChoiceAccumulator> acc = new TreeMap<>();
        RequestOutput[] last = new RequestOutput[prompts.size()];
        List<Flux<Void>> all = new ArrayList<>();
        for (int p = 0; p < prompts.size(); p++) {
            int prompt = p;
            all.add(outputs.get(p).doOnNext(out -> {
                synchronized (acc) {
                    last[prompt] = out;
                    for (SequenceDelta d : out.deltas()) acc.computeIfAbsent(prompt * n + d.index(), k -> new ChoiceAccumulator()).add(d);
                }
            }).thenMany(Flux.empty()));
        }
        return Flux.merge(Flux.fromIterable(all), all.size()).then(Mono.fromCallable(() -> {
            List<CompletionChoice> choices = new ArrayList<>();
            synchronized (acc) {
                for (int index = 0; index < prompts.size() * n; index++) {
                    ChoiceAccumulator a = acc.getOrDefault(index, new ChoiceAccumulator());
                    String prefix = echo ? prompts.get(index / n).text() : "";
                    CompletionLogprobs lp = r.logprobs() == null ? null : logprobs.completion(a.logprobs, new int[]{prefix.length()});
                    choices.add(new CompletionChoice(index, prefix + a.text, lp, OpenAiFormat.finishReason(a.finishReason)));
                }
            }
            return new CompletionResponse(id, CompletionResponse.OBJECT, created, engine.modelName(), choices, usage(last));
        })).flatMap(body -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body));
    }

    /** Prompt tokens once per prompt, completion tokens over all choices. */
    private static Usage usage(RequestOutput[] last) {
        int prompt = 0, completion = 0;
        for (RequestOutput o : last) {
            if (o == null) continue;
            prompt += o.promptTokens();
            completion += o.completionTokens();
        }
        return Usage.of(prompt, completion);
    }

    /** A string, an array of strings, an array of token ids, or an array of token-id arrays. */
    List<Prompt> prompts(JsonNode prompt, boolean addSpecial) {
        if (prompt == null || prompt.isNull()) throw ApiException.badRequest("prompt", "prompt is required");
        Tokenizer tok = engine.tokenizer();
        if (prompt.isString()) return List.of(textPrompt(prompt.stringValue(), addSpecial));
        if (!prompt.isArray() || prompt.isEmpty()) {
            throw ApiException.badRequest("prompt", "prompt must be a string, an array of strings, an array of token ids or an array of token-id arrays");
        }
        JsonNode first = prompt.get(0);
        if (first.isIntegralNumber()) return List.of(tokenPrompt(prompt, tok));
        if (prompt.size() > MAX_PROMPTS) {
            throw ApiException.badRequest("prompt", "at most " + MAX_PROMPTS + " prompts per request, got " + prompt.size());
        }
        List<Prompt> out = new ArrayList<>(prompt.size());
        for (int i = 0; i < prompt.size(); i++) {
            JsonNode p = prompt.get(i);
            if (p.isString()) out.add(textPrompt(p.stringValue(), addSpecial));
            else if (p.isArray() && !p.isEmpty()) out.add(tokenPrompt(p, tok));
            else throw ApiException.badRequest("prompt", "prompt[" + i + "] must be a string or a non-empty array of token ids");
        }
        return out;
    }

    private Prompt textPrompt(String text, boolean addSpecial) {
        int[] tokens = engine.tokenizer().encode(text, addSpecial, true);
        if (tokens.length == 0) throw ApiException.badRequest("prompt", "prompt is empty");
        return new Prompt(text, tokens);
    }

    private static Prompt tokenPrompt(JsonNode ids, Tokenizer tok) {
        int[] tokens = new int[ids.size()];
        for (int i = 0; i < tokens.length; i++) {
            JsonNode t = ids.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.intValue() < 0 || t.intValue() >= tok.vocabSize()) {
                throw ApiException.badRequest("prompt", "token ids must be integers in [0, " + tok.vocabSize() + "), got " + t);
            }
            tokens[i] = t.intValue();
        }
        return new Prompt(tok.decode(tokens), tokens);
    }
}
