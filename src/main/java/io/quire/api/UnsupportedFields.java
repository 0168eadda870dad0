package io.quire.api;

import tools.jackson.core.JsonPointer;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Fields OpenAI or vLLM define that Quire does not implement. Ignoring them would answer a
 * different request than the one sent (priority, logits processors...), so each is a 400 naming it,
 * unless it is absent, null, or the neutral value SDKs send on their own ({@code functions: []}).
 * Structured output fields are read by {@link StructuredOutputs}, tools by {@link RequestedTools}.
 * Fields that only describe the request ({@code user}, {@code store}, {@code metadata},
 * {@code service_tier}, {@code request_id}) and fields neither API defines are not listed: they stay ignored.
 */
public final class UnsupportedFields {
    /** A field at {@code pointer}, refused as {@code param} unless {@code neutral}; {@code why} tells the client. */
    private record Field(JsonPointer pointer, String param, Predicate<JsonNode> neutral, String why) {}

    private static final Predicate<JsonNode> NONE = v -> false;
    private static final Predicate<JsonNode> FALSE = v -> v.isBoolean() && !v.booleanValue();
    private static final Predicate<JsonNode> ZERO =
            v -> v.isIntegralNumber() && v.canConvertToLong() && v.longValue() == 0;
    private static final Predicate<JsonNode> EMPTY_ARRAY = v -> v.isArray() && v.isEmpty();
    private static final Predicate<JsonNode> EMPTY_OBJECT = v -> v.isObject() && v.isEmpty();

    /** Both endpoints: vLLM's sampling and serving extras, structured output. */
    private static final List<Field> COMMON = List.of(
            // response_format, structured_outputs and guided_json/regex/choice/grammar are read by
            // StructuredOutputs; guided_decoding_backend only picks vLLM's implementation: ignored.
            field("guided_whitespace_pattern", NONE, "a custom whitespace pattern is not implemented"),
            field("logits_processors", EMPTY_ARRAY, "custom logits processors are not implemented"),
            field("logprob_token_ids", NONE, "logprobs of chosen token ids are not implemented"),
            field("watermarking", FALSE, "watermarking is not implemented"),
            field("repetition_detection", NONE, "repetition detection is not implemented"),
            field("thinking_token_budget", NONE, "reasoning budgets are not implemented"),
            field("kv_transfer_params", EMPTY_OBJECT, "disaggregated serving is not implemented"),
            field("ec_transfer_params", EMPTY_OBJECT, "disaggregated serving is not implemented"),
            field("mm_processor_kwargs", EMPTY_OBJECT, "multimodal input is not implemented"),
            field("media_io_kwargs", EMPTY_OBJECT, "multimodal input is not implemented"),
            field("vllm_xargs", EMPTY_OBJECT, "extension arguments are not implemented"));

    /** The legacy completions endpoint's own. */
    private static final List<Field> COMPLETION_ONLY = List.of(
            field("suffix", v -> isOneOf(v, ""), "insertion before a suffix is not implemented"),
            field("prompt_embeds", NONE, "prompt embeddings are not implemented"));

    /** The chat endpoint's own: other modalities, reasoning controls, template controls. */
    private static final List<Field> CHAT_ONLY = List.of(
            // The deprecated forms of tools and tool_choice.
            field("functions", EMPTY_ARRAY, "the deprecated 'functions' is not implemented; send 'tools'"),
            field("function_call", v -> isOneOf(v, "none", "auto"),
                    "the deprecated 'function_call' is not implemented; send 'tool_choice'"),
            field("audio", NONE, "audio output is not implemented"),
            field("modalities", v -> v.isArray() && v.size() == 1 && isOneOf(v.get(0), "text"),
                    "only text output is implemented"),
            field("prediction", NONE, "predicted outputs are not implemented"),
            field("web_search_options", NONE, "web search is not implemented"),
            field("reasoning_effort", NONE, "reasoning controls are not implemented"),
            field("verbosity", NONE, "verbosity controls are not implemented"),
            // Template code from a caller would run here: refused for good, whatever vLLM allows.
            field("chat_template", NONE, "a per-request chat template is not accepted"));

    /**
     * The Responses API's beyond text and function calls: stored conversations (nothing is stored here, so
     * there is nothing to continue or fetch), reasoning controls, structured text, other modalities.
     */
    private static final List<Field> RESPONSES_ONLY = List.of(
            field("previous_response_id", NONE, "responses are not stored, so none can be continued"),
            field("conversation", NONE, "responses are not stored, so no conversation can be continued"),
            field("background", FALSE, "background responses are not implemented"),
            field("prompt", NONE, "stored prompt templates are not implemented"),
            field("reasoning", EMPTY_OBJECT, "reasoning controls are not implemented"),
            field("include", EMPTY_ARRAY, "extra output data is not implemented"),
            field("top_logprobs", ZERO, "logprobs on /v1/responses are not implemented"),
            field("truncation", v -> isOneOf(v, "disabled"), "truncating the input is not implemented"),
            new Field(JsonPointer.compile("/text/format/type"), "text", v -> isOneOf(v, "text"),
                    "structured text on /v1/responses is not implemented; /v1/chat/completions has response_format"),
            field("max_tool_calls", NONE, "a limit on built-in tool calls is not implemented"),
            field("stream_options", NONE, "stream options on /v1/responses are not implemented"),
            new Field(JsonPointer.compile("/text"), "text", JsonNode::isObject, "text must be an object"),
            // The other endpoints' fields this API has no place for: one reply, no structured output.
            field("n", v -> v.isIntegralNumber() && v.canConvertToInt() && v.intValue() == 1,
                    "a response is one reply; /v1/chat/completions takes n"),
            field("best_of", v -> v.isIntegralNumber() && v.canConvertToInt() && v.intValue() == 1,
                    "a response is one reply; /v1/completions takes best_of"),
            field("use_beam_search", FALSE, "beam search on /v1/responses is not implemented"),
            field("prompt_logprobs", NONE, "prompt logprobs on /v1/responses are not implemented"),
            field("response_format", NONE, "structured output on /v1/responses is not implemented"),
            field("structured_outputs", NONE, "structured output on /v1/responses is not implemented"),
            field("guided_json", NONE, "structured output on /v1/responses is not implemented"),
            field("guided_regex", NONE, "structured output on /v1/responses is not implemented"),
            field("guided_choice", NONE, "structured output on /v1/responses is not implemented"),
            field("guided_grammar", NONE, "structured output on /v1/responses is not implemented"));

    /** /v1/embeddings: vLLM's pooling extras that would change the vectors, a caller's template, other modalities. */
    private static final List<Field> EMBEDDINGS_ONLY = List.of(
            field("embed_dtype", v -> isOneOf(v, "float32"), "embeddings are sent as float32 only"),
            field("endianness", v -> isOneOf(v, "native", "little"), "base64 embeddings are little-endian only"),
            field("padding", NONE, "padding inputs is not implemented"),
            field("mm_processor_kwargs", EMPTY_OBJECT, "multimodal input is not implemented"),
            // Template code from a caller would run here: refused for good, whatever vLLM allows.
            field("chat_template", NONE, "a per-request chat template is not accepted"));

    public static final UnsupportedFields COMPLETIONS = new UnsupportedFields(COMMON, COMPLETION_ONLY);
    public static final UnsupportedFields EMBEDDINGS = new UnsupportedFields(List.of(), EMBEDDINGS_ONLY);
    /** /score and /rerank: their texts only, as /v1/embeddings takes them. */
    public static final UnsupportedFields SCORES = new UnsupportedFields(List.of(), List.of(
            field("mm_processor_kwargs", EMPTY_OBJECT, "multimodal input is not implemented")));
    /** /v1/responses: vLLM's extras refused as on the other endpoints, and the API's own. */
    public static final UnsupportedFields RESPONSES = new UnsupportedFields(COMMON, RESPONSES_ONLY);
    public static final UnsupportedFields CHAT = new UnsupportedFields(COMMON, CHAT_ONLY);
    /** For endpoints whose fields are all implemented. */
    public static final UnsupportedFields NONE_LISTED = new UnsupportedFields(List.of(), List.of());

    private final List<Field> fields;

    private UnsupportedFields(List<Field> common, List<Field> own) {
        List<Field> all = new ArrayList<>(common);
        all.addAll(own);
        this.fields = List.copyOf(all);
    }

    /** The names refused when not neutral, for tests and documentation. */
    Set<String> params() {
        Set<String> out = new LinkedHashSet<>();
        for (Field f : fields) out.add(f.param());
        return out;
    }

    /** Refuses the first listed field the body sets to something other than null or its neutral value. */
    void check(JsonNode body) {
        for (Field f : fields) {
            JsonNode v = body.at(f.pointer());
            if (v.isMissingNode() || v.isNull() || f.neutral().test(v)) continue;
            String name = f.pointer().toString().substring(1).replace('/', '.');
            throw ApiException.badRequest(f.param(),
                    "Unsupported parameter: '" + name + "' is not supported by this server (" + f.why() + ").");
        }
    }

    private static Field field(String name, Predicate<JsonNode> neutral, String why) {
        return new Field(JsonPointer.compile("/" + name), name, neutral, why);
    }

    private static boolean isOneOf(JsonNode v, String... values) {
        if (v == null || !v.isString()) return false;
        for (String s : values) if (s.equals(v.stringValue())) return true;
        return false;
    }
}
