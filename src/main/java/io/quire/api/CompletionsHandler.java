package io.quire.api;

import io.quire.api.wire.CompletionRequest;
import io.quire.engine.GenerationService;
import io.quire.engine.RequestOutput;
import io.quire.engine.SamplingParams;
import io.quire.model.tokenizer.Tokenizer;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;
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
        return reader.read(request, CompletionRequest.class, UnsupportedFields.COMPLETIONS)
                .flatMap(r -> handle(request, r));
    }

    private Mono<ServerResponse> handle(ServerRequest request, CompletionRequest r) {
        OpenAiFormat.checkModel(r.model(), engine.modelName());
        OpenAiFormat.checkStreamOptions(r);
        boolean echo = Boolean.TRUE.equals(r.echo());
        List<Prompt> prompts = prompts(r.prompt(), r.addSpecialTokens() == null || r.addSpecialTokens());
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
                        r.priorityOrZero())));
        ChoiceStreams choices = ChoiceStreams.of(request, engine, ids, submitted, params.n());
        ChoiceFormat format = new CompletionChoiceFormat(id, created, engine.modelName(), texts, tokens, params.n(),
                new CompletionChoiceFormat.Shown(echo, promptOnly, Boolean.TRUE.equals(r.returnTokenIds())),
                logprobCount == null ? null
                        : logprobs.withTokenIds(Boolean.TRUE.equals(r.returnTokensAsTokenIds())).withTop(logprobCount),
                logprobs);
        int[] promptTokens = tokens.stream().mapToInt(t -> t.length).toArray();
        return r.streaming() ? choices.stream(json, r.includeUsage(), r.continuousUsage() ? promptTokens : null, format)
                : choices.collect(format);
    }

    /** A string, an array of strings, an array of token ids, or an array of token-id arrays. */
    List<Prompt> prompts(JsonNode prompt, boolean addSpecial) {
        if (prompt == null || prompt.isNull()) throw ApiException.badRequest("prompt", "prompt is required");
        Tokenizer tok = engine.tokenizer();
        if (prompt.isString()) return List.of(textPrompt(prompt.stringValue(), addSpecial));
        if (!prompt.isArray() || prompt.isEmpty()) {
            throw ApiException.badRequest("prompt", "prompt must be a string, an array of strings,"
                    + " an array of token ids or an array of token-id arrays");
        }
        JsonNode first = prompt.get(0);
        if (first.isIntegralNumber()) return List.of(tokenPrompt(prompt, tok));
        if (prompt.size() > MAX_PROMPTS) {
            throw ApiException.badRequest("prompt",
                    "at most " + MAX_PROMPTS + " prompts per request, got " + prompt.size());
        }
        List<Prompt> out = new ArrayList<>(prompt.size());
        for (int i = 0; i < prompt.size(); i++) {
            JsonNode p = prompt.get(i);
            if (p.isString()) out.add(textPrompt(p.stringValue(), addSpecial));
            else if (p.isArray() && !p.isEmpty()) out.add(tokenPrompt(p, tok));
            else throw ApiException.badRequest("prompt",
                    "prompt[" + i + "] must be a string or a non-empty array of token ids");
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
                throw ApiException.badRequest("prompt",
                        "token ids must be integers in [0, " + tok.vocabSize() + "), got " + t);
            }
            tokens[i] = t.intValue();
        }
        return new Prompt(tok.decode(tokens), tokens);
    }
}
