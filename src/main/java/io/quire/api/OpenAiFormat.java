package io.quire.api;

import io.quire.api.wire.SamplingFields;
import io.quire.api.wire.StreamOptions;
import io.quire.engine.FinishReason;
import io.quire.engine.GenerationService;
import io.quire.model.LoraAdapter;
import org.springframework.http.HttpStatus;

import java.util.List;
import java.util.UUID;

/** Small conventions shared by the OpenAI endpoints: ids, timestamps, finish reasons, model names. */
final class OpenAiFormat {
    private OpenAiFormat() {}

    /** {@code cmpl-…} / {@code chatcmpl-…} followed by 32 hex digits. */
    static String newId(String prefix) {
        return prefix + UUID.randomUUID().toString().replace("-", "");
    }

    /** A tool call's id, as OpenAI's: {@code call_} and 24 letters and digits. */
    static String newToolCallId() {
        return "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }

    static long nowSeconds() {
        return System.currentTimeMillis() / 1000;
    }

    /** OpenAI's {@code finish_reason}; {@code abort} (a cancelled request) is vLLM's. */
    static String finishReason(FinishReason reason) {
        if (reason == null) return null;
        return switch (reason) {
            case STOP -> "stop";
            case LENGTH -> "length";
            case ABORT -> "abort";
        };
    }

    /** {@code stream_options} only goes with {@code stream: true}, as vLLM and OpenAI refuse it otherwise. */
    static void checkStreamOptions(SamplingFields r) {
        // An empty object sets nothing, and vLLM (which tests the dict's truth) lets it through.
        StreamOptions o = r.streamOptions();
        if (o != null && (o.includeUsage() != null || o.continuousUsageStats() != null) && !r.streaming()) {
            throw ApiException.badRequest("stream_options", "stream_options can only be set when stream is true.");
        }
    }

    /**
     * The LoRA adapter a request's {@code model} names, null for the served model itself: absent, null
     * or empty means it (as in vLLM); anything else must name it or one of its adapters (404).
     */
    static String adapterOf(String requested, GenerationService engine) {
        String served = engine.modelName();
        if (requested == null || requested.isEmpty() || requested.equals(served)) return null;
        List<String> adapters = engine.adapters().stream().map(LoraAdapter::name).toList();
        if (adapters.contains(requested)) return requested;
        throw new ApiException(HttpStatus.NOT_FOUND, "model", "The model `" + requested + "` does not exist. This"
                + " server serves `" + served + "`" + (adapters.isEmpty() ? "" : " and the LoRA adapters `"
                + String.join("`, `", adapters) + "`") + ".");
    }

    /** The name responses carry: the adapter's when one runs, as vLLM's. */
    static String modelName(String adapter, GenerationService engine) {
        return adapter == null ? engine.modelName() : adapter;
    }
}
