package io.quire.api;

import io.quire.api.tools.ForcedToolCalls;
import io.quire.api.tools.ToolChoice;
import io.quire.api.wire.ChatCompletionRequest;
import io.quire.engine.GenerationService;
import io.quire.engine.RequestOutput;
import io.quire.engine.SamplingParams;
import io.quire.engine.structured.ConstraintSpec;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
    private final ChatParsers parsers;

    public ChatCompletionsHandler(GenerationService engine, ChatPrompts prompts, JsonMapper json,
                                  RequestReader reader, ChatParsers parsers) {
        this.engine = engine;
        this.prompts = prompts;
        this.json = json;
        this.reader = reader;
        this.parsers = parsers;
        this.logprobs = new LogprobsFormatter(engine.tokenizer());
    }

    public Mono<ServerResponse> complete(ServerRequest request) {
        // The reader hands the request over on a worker thread: rendering, tokenizing and queueing
        // stay off the event loop.
        return reader.read(request, ChatCompletionRequest.class, UnsupportedFields.CHAT)
                .flatMap(r -> handle(request, r));
    }

    private Mono<ServerResponse> handle(ServerRequest request, ChatCompletionRequest r) {
        String adapter = OpenAiFormat.adapterOf(r.model(), engine);
        OpenAiFormat.checkStreamOptions(r);
        Integer logprobCount = RequestedLogprobs.chat(r.logprobs(), r.topLogprobs());
        Integer maxTokens = r.maxCompletionTokens() != null ? r.maxCompletionTokens() : r.maxTokens();
        Map<String, Object> kwargs = templateVariables(r);
        boolean generationPrompt = r.addGenerationPrompt() == null || r.addGenerationPrompt();
        RequestedTools tools = RequestedTools.of(r.tools(), r.toolChoice(), r.parallelToolCalls(), json);
        String rendered = prompts.render(r.messages(), tools.forTemplate(), r.addGenerationPrompt(),
                r.continueFinalMessage(), kwargs);
        // vLLM's echo: the reply starts with the last message when that is the reply's own: an assistant's, or
        // any without a generation prompt (vLLM then answers in the last message's role; Quire as assistant).
        String echoed = null;
        if (Boolean.TRUE.equals(r.echo()) && (!generationPrompt || "assistant".equals(r.messages().getLast().role()))) {
            echoed = ChatPrompts.lastContent(r.messages());
        }
        int[] tokens = PromptTruncation.apply(prompts.tokenize(rendered, true), r.truncatePromptTokens(),
                r.truncationSide(), engine.maxModelLen());
        StructuredOutputs.Requested constraint = StructuredOutputs.read(r);
        SamplingParams params = SamplingParamsMapper.toParams(r, maxTokens, logprobCount,
                engine.defaultParams(maxTokens))
                .withBadWordsTokenIds(BadWords.tokenIds(r.badWords(), engine.tokenizer()));
        // Call formats are often written with special tokens (<tool_call>, [TOOL_CALLS], <|python_tag|>):
        // the parser must see them, as vLLM's parsers make sure.
        if (tools.choice().mode() == ToolChoice.Mode.AUTO) params = params.withSkipSpecialTokens(false);
        if (tools.choice().forced()) {
            // As vLLM: the output is held to the calls' JSON, so any model makes a valid call.
            if (constraint != null) {
                throw ApiException.badRequest("tool_choice", "tool_choice \"required\" or a named function"
                        + " cannot be combined with " + constraint.param());
            }
            constraint = new StructuredOutputs.Requested(ConstraintSpec.jsonSchema(
                    ForcedToolCalls.schema(tools.choice(), tools.parameters(), tools.parallel())), "tools");
        }
        SamplingParams constrained = params.withConstraint(constraint == null ? null : constraint.spec());
        boolean jsonOutput = constraint != null && (constraint.spec() instanceof ConstraintSpec.JsonSchema
                || constraint.spec() instanceof ConstraintSpec.JsonObject);
        var outputParsers = parsers.forRequest(tools, r.includeReasoning() == null || r.includeReasoning(),
                jsonOutput);
        String id = OpenAiFormat.newId("chatcmpl-");
        long created = OpenAiFormat.nowSeconds();
        SentFieldNames names = SentFieldNames.chat(r.maxCompletionTokens() != null);
        Flux<RequestOutput> submitted = StructuredOutputs.submit(constraint,
                () -> names.submit(() -> engine.generate(List.of(id), List.of(tokens), constrained,
                        r.cacheSalt(), r.priorityOrZero(), adapter).getFirst()));
        ChoiceStreams choices = ChoiceStreams.of(request, engine, List.of(id), List.of(submitted), constrained.n());
        ChoiceFormat format = new ChatChoiceFormat(id, created, OpenAiFormat.modelName(adapter, engine),
                logprobCount == null ? null : logprobs.withTokenIds(Boolean.TRUE.equals(r.returnTokensAsTokenIds())),
                logprobs, outputParsers, Boolean.TRUE.equals(r.returnTokenIds()) ? tokens : null, echoed);
        return r.streaming() ? choices.stream(json, r.includeUsage(),
                r.continuousUsage() ? new int[] {tokens.length} : null, format) : choices.collect(format);
    }

    /**
     * chat_template_kwargs, and vLLM's {@code documents} as the template's {@code documents} (which
     * chat_template_kwargs may override, as in vLLM). Data for the template, never template code.
     */
    private static Map<String, Object> templateVariables(ChatCompletionRequest r) {
        if (r.documents() == null) return r.chatTemplateKwargs() == null ? Map.of() : r.chatTemplateKwargs();
        Map<String, Object> vars = new HashMap<>();
        vars.put("documents", r.documents());
        if (r.chatTemplateKwargs() != null) vars.putAll(r.chatTemplateKwargs());
        return vars;
    }
}
