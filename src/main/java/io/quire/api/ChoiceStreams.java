package io.quire.api;

import io.quire.api.wire.Usage;
import io.quire.engine.GenerationService;
import io.quire.engine.RequestOutput;
import io.quire.engine.SequenceDelta;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.function.BiFunction;

/**
 * The engine outputs of one HTTP request as OpenAI choices, for both completion endpoints: one
 * engine request per prompt, {@code n} choices each, numbered {@code prompt * n + sequence}.
 * Either streamed as server-sent events (empty deltas dropped, usage last when asked for, errors
 * in-stream) or collected into one response. The endpoint's {@link ChoiceFormat} makes the records.
 */
final class ChoiceStreams {
    private final List<Flux<RequestOutput>> outputs;
    private final int n;

    private ChoiceStreams(List<Flux<RequestOutput>> outputs, int n) {
        this.outputs = outputs;
        this.n = n;
    }

    /**
     * Takes over freshly submitted engine requests: the exchange's scope aborts them when it ends
     * (whenever the client leaves), and their outputs are formatted and written off the engine's
     * thread, so that never delays its next step.
     */
    static ChoiceStreams of(ServerRequest request, GenerationService engine, List<String> requestIds,
                            List<Flux<RequestOutput>> submitted, int n) {
        EngineRequestScope.of(request, engine).register(requestIds);
        List<Flux<RequestOutput>> outputs = new ArrayList<>(submitted.size());
        for (Flux<RequestOutput> f : submitted) outputs.add(f.publishOn(Schedulers.parallel()));
        return new ChoiceStreams(outputs, n);
    }

    /**
     * A {@code text/event-stream} of chunks, each prompt's as they come, {@code [DONE]} last;
     * {@code promptTokens}: each prompt's length, for usage in every chunk (vLLM's continuous_usage_stats,
     * with the tokens its choice has made so far, as vLLM), or null for none.
     */
    Mono<ServerResponse> stream(JsonMapper json, boolean includeUsage, int[] promptTokens, ChoiceFormat format) {
        RequestOutput[] last = new RequestOutput[outputs.size()];
        int[] made = new int[outputs.size() * n];
        BiFunction<Integer, Object, Object> usage = promptTokens == null ? (c, chunk) -> chunk
                : (c, chunk) -> format.withUsage(chunk, Usage.of(promptTokens[c / n], made[c]));
        List<Flux<String>> perPrompt = new ArrayList<>(outputs.size());
        for (int p = 0; p < outputs.size(); p++) {
            int prompt = p;
            int first = prompt * n;
            boolean awaits = format.headAwaitsPromptLogprobs();
            Flux<String> head = awaits ? Flux.empty()
                    : Flux.range(first, n).mapNotNull(c -> {
                        Object h = format.head(c, null);
                        return h == null ? null : Sse.event(json, usage.apply(c, h));
                    });
            Flux<String> body = outputs.get(prompt).concatMap(out -> {
                List<String> events = new ArrayList<>(out.deltas().size() + n);
                if (awaits && last[prompt] == null) {
                    // the first output: the heads, with the prompt's logprobs
                    for (int c = first; c < first + n; c++) {
                        Object h = format.head(c, out.promptLogprobs());
                        if (h != null) events.add(Sse.event(json, usage.apply(c, h)));
                    }
                }
                last[prompt] = out;
                for (SequenceDelta d : out.deltas()) {
                    int choice = first + d.index();
                    if (d.tokenIds() != null) made[choice] += d.tokenIds().length;
                    // Tokens whose text is held back (a partial stop string, an incomplete character) still
                    // have ids to show; a format may hold text back too (a parser waiting for a call).
                    if (isEmpty(d) && !(format.showsTokenIds() && d.tokenIds() != null && d.tokenIds().length > 0)) {
                        continue;
                    }
                    Object chunk = format.chunk(choice, d);
                    if (chunk != null) events.add(Sse.event(json, usage.apply(choice, chunk)));
                }
                return Flux.fromIterable(events);
            });
            perPrompt.add(head.concatWith(body));
        }
        // Every prompt's stream at once (Flux.merge alone subscribes to 256 and parks the rest).
        Flux<String> events = Flux.merge(Flux.fromIterable(perPrompt), perPrompt.size());
        if (includeUsage) {
            events = events.concatWith(Flux.defer(() -> Flux.just(Sse.event(json, format.usageChunk(usage(last))))));
        }
        return Sse.respond(json, events);
    }

    /** One JSON response once every prompt has finished. */
    Mono<ServerResponse> collect(ChoiceFormat format) {
        TreeMap<Integer, ChoiceAccumulator> acc = new TreeMap<>();
        RequestOutput[] last = new RequestOutput[outputs.size()];
        List<Mono<Void>> all = new ArrayList<>(outputs.size());
        for (int p = 0; p < outputs.size(); p++) {
            int prompt = p;
            all.add(outputs.get(prompt).doOnNext(out -> {
                synchronized (acc) {
                    last[prompt] = out;
                    for (SequenceDelta d : out.deltas()) {
                        acc.computeIfAbsent(prompt * n + d.index(), k -> new ChoiceAccumulator()).add(d);
                    }
                    if (out.promptLogprobs() != null) {
                        for (int c = prompt * n; c < prompt * n + n; c++) {
                            acc.computeIfAbsent(c, k -> new ChoiceAccumulator()).promptLogprobs = out.promptLogprobs();
                        }
                    }
                }
            }).then());
        }
        return Flux.merge(Flux.fromIterable(all), all.size()).then(Mono.fromCallable(() -> {
            List<ChoiceAccumulator> choices = new ArrayList<>(outputs.size() * n);
            synchronized (acc) {
                for (int i = 0; i < outputs.size() * n; i++) choices.add(acc.getOrDefault(i, new ChoiceAccumulator()));
            }
            return format.response(choices, usage(last));
        })).flatMap(body -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body));
    }

    /** A step can leave a sequence with nothing to tell the client; such a delta makes no chunk. */
    static boolean isEmpty(SequenceDelta d) {
        boolean hasText = d.text() != null && !d.text().isEmpty();
        boolean hasLogprobs = d.logprobs() != null && !d.logprobs().isEmpty();
        return !hasText && !hasLogprobs && d.finishReason() == null;
    }

    /** Prompt tokens once per prompt (whatever {@code n}), completion tokens over all choices. */
    private static Usage usage(RequestOutput[] last) {
        int prompt = 0, completion = 0;
        for (RequestOutput o : last) {
            if (o == null) continue;
            prompt += o.promptTokens();
            completion += o.completionTokens();
        }
        return Usage.of(prompt, completion);
    }
}
