package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;
import java.util.Map;

/**
 * {@code POST /v1/chat/completions}. {@code max_completion_tokens} wins over the older
 * {@code max_tokens}; {@code logprobs} is a flag and {@code top_logprobs} the number of
 * alternatives. vLLM extras as in {@link CompletionRequest}, plus {@code add_generation_prompt}
 * (default true), {@code chat_template_kwargs} (more template variables) and {@code include_reasoning}
 * (default true: a reasoning parser's thinking is sent as {@code reasoning_content}). {@code tools},
 * {@code tool_choice} and {@code parallel_tool_calls} are read by {@code RequestedTools}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatCompletionRequest(
        String model,
        List<ChatMessage> messages,
        Integer maxTokens,
        Integer maxCompletionTokens,
        Double temperature,
        Double topP,
        Integer n,
        Boolean stream,
        StreamOptions streamOptions,
        JsonNode stop,
        Long seed,
        Double presencePenalty,
        Double frequencyPenalty,
        Map<String, Double> logitBias,
        Boolean logprobs,
        Integer topLogprobs,
        String user,
        Integer topK,
        Double minP,
        Double repetitionPenalty,
        Integer minTokens,
        Boolean ignoreEos,
        List<Integer> stopTokenIds,
        Boolean includeStopStrInOutput,
        Boolean skipSpecialTokens,
        // vLLM's: read for its type only, then ignored, as vLLM's fast (tokenizers) detokenizer ignores it.
        Boolean spacesBetweenSpecialTokens,
        Boolean addGenerationPrompt,
        Boolean continueFinalMessage,
        Boolean echo,
        // Template variables may be null (Python's None), unlike the entries of every other list or map.
        @JsonSetter(contentNulls = Nulls.SET) Map<String, Object> chatTemplateKwargs,
        // vLLM's: documents for retrieval-augmented templates (Command R's), each a map of strings.
        List<Map<String, String>> documents,
        Integer bestOf,
        Boolean useBeamSearch,
        Double lengthPenalty,
        String cacheSalt,
        Integer truncatePromptTokens,
        String truncationSide,
        List<Integer> allowedTokenIds,
        List<String> badWords,
        Integer promptLogprobs,
        Boolean returnTokensAsTokenIds,
        Boolean returnTokenIds,
        Integer priority,
        JsonNode tools,
        JsonNode toolChoice,
        Boolean parallelToolCalls,
        Boolean includeReasoning,
        JsonNode responseFormat,
        JsonNode structuredOutputs,
        JsonNode guidedJson,
        JsonNode guidedRegex,
        JsonNode guidedChoice,
        JsonNode guidedGrammar) implements SamplingFields {}
