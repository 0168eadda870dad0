package io.quire.api.wire;

import tools.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * The sampling fields completions and chat requests share (OpenAI's plus vLLM's extras), so
 * that one mapper turns either into engine parameters. Null means "not sent".
 */
public interface SamplingFields {
    Integer n();
    Double temperature();
    Double topP();
    Integer topK();
    Double minP();
    Double presencePenalty();
    Double frequencyPenalty();
    Double repetitionPenalty();
    Long seed();
    /** A string or an array of strings. */
    JsonNode stop();
    List<Integer> stopTokenIds();
    Boolean includeStopStrInOutput();
    Integer minTokens();
    Boolean ignoreEos();
    /** Token id (as a JSON object key) to a bias in [-100, 100]. */
    Map<String, Double> logitBias();
    Boolean skipSpecialTokens();
    /** vLLM: the only token ids that may be sampled. */
    List<Integer> allowedTokenIds();
    /** vLLM: lower is served first under the priority scheduling policy; must be 0 (or absent) otherwise. */
    Integer priority();
    /** vLLM: each prompt token's logprob and the top k at its position (not with stream, unless 0). */
    Integer promptLogprobs();
    /** vLLM: words the output may not contain (tokenized as at the start and inside a text). */
    List<String> badWords();
    /** vLLM: sequences generated, of which the n most likely are returned; the beam width with beam search. */
    Integer bestOf();
    /** vLLM: beam search (width best_of, or n) instead of sampling. */
    Boolean useBeamSearch();
    /** vLLM: beam scores are cumulative logprob / length^length_penalty. */
    Double lengthPenalty();
    /** OpenAI's structured output: {@code {"type": "text" | "json_object" | "json_schema", ...}}. */
    JsonNode responseFormat();
    /** vLLM's structured output: one of {@code json}, {@code regex}, {@code choice}, {@code grammar}, {@code json_object}. */
    JsonNode structuredOutputs();
    /** vLLM's older guided decoding fields. */
    JsonNode guidedJson();
    JsonNode guidedRegex();
    JsonNode guidedChoice();
    JsonNode guidedGrammar();
    Boolean stream();
    StreamOptions streamOptions();
    String model();
    String user();

    default boolean streaming() { return Boolean.TRUE.equals(stream()); }

    /** The priority the engine gets: 0 when none was sent. */
    default int priorityOrZero() { return priority() == null ? 0 : priority(); }

    default boolean includeUsage() { return streamOptions() != null && streamOptions().usage(); }

    default boolean continuousUsage() { return streamOptions() != null && streamOptions().continuousUsage(); }
}
