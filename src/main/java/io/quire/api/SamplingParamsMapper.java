package io.quire.api;

import io.quire.api.wire.SamplingFields;
import io.quire.engine.SamplingParams;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Request fields to engine {@link SamplingParams}, with vLLM's defaults for fields not sent.
 * Only the shape is checked here (types, what cannot be expressed); value ranges are the
 * engine's to enforce, so both entry points agree.
 */
final class SamplingParamsMapper {
    private SamplingParamsMapper() {}

    /** As {@link #toParams(SamplingFields, Integer, Integer, SamplingParams)} from the server's defaults. */
    static SamplingParams toParams(SamplingFields r, Integer maxTokens, Integer logprobs) {
        return toParams(r, maxTokens, logprobs, SamplingParams.defaults(maxTokens));
    }

    /**
     * {@code logprobs}: the count {@link RequestedLogprobs} checked, from whichever fields the endpoint has;
     * {@code d}: what fields not sent take (the engine's {@link io.quire.engine.GenerationService#defaultParams}).
     */
    static SamplingParams toParams(SamplingFields r, Integer maxTokens, Integer logprobs, SamplingParams d) {
        return new SamplingParams(
                r.n() == null ? d.n() : r.n(),
                r.temperature() == null ? d.temperature() : toFloat("temperature", r.temperature()),
                r.topP() == null ? d.topP() : toFloat("top_p", r.topP()),
                r.topK() == null ? d.topK() : r.topK(),
                r.minP() == null ? d.minP() : toFloat("min_p", r.minP()),
                r.presencePenalty() == null ? d.presencePenalty()
                        : toFloat("presence_penalty", r.presencePenalty()),
                r.frequencyPenalty() == null ? d.frequencyPenalty()
                        : toFloat("frequency_penalty", r.frequencyPenalty()),
                r.repetitionPenalty() == null ? d.repetitionPenalty()
                        : toFloat("repetition_penalty", r.repetitionPenalty()),
                r.seed(),
                stop(r.stop()),
                r.stopTokenIds() == null ? d.stopTokenIds() : List.copyOf(r.stopTokenIds()),
                Boolean.TRUE.equals(r.includeStopStrInOutput()),
                maxTokens,
                r.minTokens() == null ? d.minTokens() : r.minTokens(),
                Boolean.TRUE.equals(r.ignoreEos()),
                logitBias(r.logitBias()),
                logprobs,
                r.skipSpecialTokens() == null ? d.skipSpecialTokens() : r.skipSpecialTokens(),
                r.bestOf(),
                Boolean.TRUE.equals(r.useBeamSearch()),
                r.lengthPenalty() == null ? d.lengthPenalty() : toFloat("length_penalty", r.lengthPenalty()))
                .withAllowedTokenIds(r.allowedTokenIds() == null ? null : List.copyOf(r.allowedTokenIds()))
                .withPromptLogprobs(promptLogprobs(r));
    }

    /** vLLM's checks: a count, never streamed (where 0, which adds nothing to a response, passes). */
    private static Integer promptLogprobs(SamplingFields r) {
        Integer k = RequestedLogprobs.prompt(r.promptLogprobs());
        if (k != null && k > 0 && r.streaming()) {
            throw ApiException.badRequest("prompt_logprobs", "`prompt_logprobs` are not available when `stream=True`.");
        }
        return k;
    }

    /**
     * The engine samples in 32-bit floats: a JSON number beyond their range ({@code 1e308}, or
     * {@code 1e400}, which JSON parsing already makes infinite) would reach it as infinity and be
     * refused as if infinity had been sent, so it is refused here, as out of range.
     */
    static float toFloat(String field, double value) {
        float f = (float) value;
        if (Float.isInfinite(f)) {
            throw ApiException.badRequest(field, "Invalid '" + field + "': number out of range (at most "
                    + Float.MAX_VALUE + " in magnitude)" + (Double.isInfinite(value) ? "." : ", got " + value + "."));
        }
        return f;
    }

    /** {@code stop}: a string or an array of strings. */
    static List<String> stop(JsonNode stop) {
        if (stop == null || stop.isNull()) return List.of();
        if (stop.isString()) return List.of(stop.stringValue());
        if (stop.isArray()) {
            List<String> out = new ArrayList<>(stop.size());
            for (int i = 0; i < stop.size(); i++) {
                JsonNode s = stop.get(i);
                if (!s.isString()) {
                    String where = "stop[" + i + "]";
                    throw ApiException.badRequest("stop", BindingErrors.typeMismatch(where, "a string", s));
                }
                out.add(s.stringValue());
            }
            return List.copyOf(out);
        }
        throw ApiException.badRequest("stop", "stop must be a string or an array of strings");
    }

    /**
     * {@code logit_bias}: JSON object keys are token ids written as strings; values are clamped to
     * [-100, 100], OpenAI's documented range, as vLLM clamps them (so a bias of 1e6 is 100).
     */
    static Map<Integer, Float> logitBias(Map<String, Double> bias) {
        if (bias == null || bias.isEmpty()) return Map.of();
        Map<Integer, Float> out = new LinkedHashMap<>();
        for (Map.Entry<String, Double> e : bias.entrySet()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey().trim());
            } catch (NumberFormatException ex) {
                throw ApiException.badRequest("logit_bias",
                        "logit_bias keys must be token ids, got '" + e.getKey() + "'");
            }
            if (e.getValue() == null) {
                throw ApiException.badRequest("logit_bias", "logit_bias value for token " + id + " is null");
            }
            out.put(id, Math.clamp(toFloat("logit_bias", e.getValue()), -100f, 100f));
        }
        return Map.copyOf(out);
    }
}
