package io.quire.api;

import io.quire.api.wire.CompletionRequest;
import io.quire.engine.GenerationService;
import io.quire.engine.RequestOutput;
import io.quire.engine.SamplingParams;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /v1/completions}. Several prompts in one request run as separate engine requests;
 * their choices are numbered {@code prompt * n + sequence}, as OpenAI does.
 */
@Component
public class CompletionsHandler {
    /** OpenAI's default for the completions endpoint. */
    static final int DEFAULT_MAX_TOKENS = 16;

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

    public Mono<ServerResponse> complete(ServerRequest request) {
        // The reader hands the request over on a worker thread: tokenizing and queueing stay off the event loop.
        return reader.read(request, CompletionRequest.class, UnsupportedFields.COMPLETIONS)
                .flatMap(r -> handle(request, r));
    }

    private Mono<ServerResponse> handle(ServerRequest request, CompletionRequest r) {
        String adapter = OpenAiFormat.adapterOf(r.model(), engine);
        OpenAiFormat.checkStreamOptions(r);
        boolean echo = Boolean.TRUE.equals(r.echo());
        List<PromptInputs.Prompt> prompts = PromptInputs.read(r.prompt(), "prompt",
                r.addSpecialTokens() == null || r.addSpecialTokens(), engine.tokenizer());
        int maxTokens = r.maxTokens() == null ? DEFAULT_MAX_TOKENS : r.maxTokens();
        // As vLLM (and OpenAI's legacy API): echo with max_tokens 0 returns the prompt alone, scored when
        // logprobs are asked for; the engine runs one token, not shown (usage counts it, as vLLM's).
        boolean promptOnly = echo && r.maxTokens() != null && r.maxTokens() == 0;
        if (promptOnly) maxTokens = 1;
        Integer logprobCount = RequestedLogprobs.completion(r.logprobs());
        StructuredOutputs.Requested constraint = StructuredOutputs.read(r);
        SamplingParams params = SamplingParamsMapper.toParams(r, maxTokens, logprobCount,
                engine.defaultParams(maxTokens))
                .withConstraint(constraint == null ? null : constraint.spec())
                .withBadWordsTokenIds(BadWords.tokenIds(r.badWords(), engine.tokenizer()));
        // As vLLM: echoed with logprobs, the prompt's tokens get theirs too (prompt_logprobs, if sent, rules).
        if (echo && logprobCount != null && params.promptLogprobs() == null) {
            params = params.withPromptLogprobs(logprobCount);
        }
        SamplingParams sampling = params;
        String id = OpenAiFormat.newId("cmpl-");
        long created = OpenAiFormat.nowSeconds();
        List<String> ids = new ArrayList<>(prompts.size());
        List<int[]> tokens = new ArrayList<>(prompts.size());
        List<String> texts = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            ids.add(prompts.size() == 1 ? id : id + "-" + i);
            int[] sent = prompts.get(i).tokens();
            int[] kept = PromptTruncation.apply(sent, r.truncatePromptTokens(), r.truncationSide(),
                    engine.maxModelLen());
            tokens.add(kept);
            // echo returns the prompt that ran: what truncation kept
            texts.add(kept == sent ? prompts.get(i).text() : engine.tokenizer().decode(kept));
        }
        // All prompts are queued or none.
        List<Flux<RequestOutput>> submitted = StructuredOutputs.submit(constraint,
                () -> SentFieldNames.COMPLETIONS.submit(() -> engine.generate(ids, tokens, sampling, r.cacheSalt(),
                        r.priorityOrZero(), adapter)));
        ChoiceStreams choices = ChoiceStreams.of(request, engine, ids, submitted, params.n());
        ChoiceFormat format = new CompletionChoiceFormat(id, created, OpenAiFormat.modelName(adapter, engine), texts,
                tokens, params.n(),
                new CompletionChoiceFormat.Shown(echo, promptOnly, Boolean.TRUE.equals(r.returnTokenIds())),
                logprobCount == null ? null
                        : logprobs.withTokenIds(Boolean.TRUE.equals(r.returnTokensAsTokenIds())).withTop(logprobCount),
                logprobs);
        int[] promptTokens = tokens.stream().mapToInt(t -> t.length).toArray();
        return r.streaming() ? choices.stream(json, r.includeUsage(), r.continuousUsage() ? promptTokens : null, format)
                : choices.collect(format);
    }
}
