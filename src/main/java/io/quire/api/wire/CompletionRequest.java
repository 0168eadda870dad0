package io.quire.api.wire;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.List;
import java.util.Map;

/**
 * {@code POST /v1/completions}. {@code prompt} is a string, an array of strings, an array of
 * token ids or an array of such arrays; {@code logprobs} is the number of alternatives per
 * token. vLLM extras: {@code top_k}, {@code min_p}, {@code repetition_penalty},
 * {@code min_tokens}, {@code ignore_eos}, {@code stop_token_ids},
 * {@code include_stop_str_in_output}, {@code skip_special_tokens}, {@code add_special_tokens},
 * {@code best_of}, {@code use_beam_search}, {@code length_penalty}, {@code cache_salt} (prefix-cache isolation),
 * {@code truncate_prompt_tokens} and {@code truncation_side} ({@link io.quire.api.PromptTruncation}),
 * {@code prompt_logprobs} (with {@code echo}, {@code logprobs} gives the prompt's too, as in vLLM).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record CompletionRequest(
        String model,
        JsonNode prompt,
        Integer maxTokens,
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
        Integer logprobs,
        Boolean echo,
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
        Boolean addSpecialTokens,
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
        JsonNode responseFormat,
        JsonNode structuredOutputs,
        JsonNode guidedJson,
        JsonNode guidedRegex,
        JsonNode guidedChoice,
        JsonNode guidedGrammar) implements SamplingFields {}
