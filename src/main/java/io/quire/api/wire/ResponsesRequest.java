package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;
import java.util.Map;

/**
 * {@code POST /v1/responses} (OpenAI's Responses API), the text subset: {@code input} is a string (one
 * user message) or a list of messages ({@code role} and {@code content}, a string or text parts);
 * {@code instructions} come first as a system message. As vLLM's, it takes the sampling extras the
 * other endpoints take ({@code seed}, {@code stop}, {@code top_k}, {@code cache_salt}, {@code priority}
 * ...), and function tools; what this API has no place for ({@code n}, beam search, structured output, prompt logprobs) and
 * its own fields for built-in tools, stored conversations and other modalities are refused by name
 * ({@code UnsupportedFields.RESPONSES}).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ResponsesRequest(
        String model,
        JsonNode input,
        String instructions,
        Integer maxOutputTokens,
        Double temperature,
        Double topP,
        Boolean stream,
        Boolean store,
        Map<String, String> metadata,
        String user,
        Boolean parallelToolCalls,
        JsonNode tools,
        JsonNode toolChoice,
        String truncation,
        // vLLM's extras, as on the other endpoints
        Integer n,
        Integer topK,
        Double minP,
        Double presencePenalty,
        Double frequencyPenalty,
        Double repetitionPenalty,
        Long seed,
        JsonNode stop,
        List<Integer> stopTokenIds,
        Boolean includeStopStrInOutput,
        Integer minTokens,
        Boolean ignoreEos,
        Map<String, Double> logitBias,
        Boolean skipSpecialTokens,
        List<Integer> allowedTokenIds,
        List<String> badWords,
        String cacheSalt,
        Integer priority,
        // refused here (UnsupportedFields.RESPONSES); read only to implement SamplingFields
        Integer promptLogprobs,
        Integer bestOf,
        Boolean useBeamSearch,
        Double lengthPenalty,
        JsonNode responseFormat,
        JsonNode structuredOutputs,
        JsonNode guidedJson,
        JsonNode guidedRegex,
        JsonNode guidedChoice,
        JsonNode guidedGrammar,
        StreamOptions streamOptions) implements SamplingFields {}
