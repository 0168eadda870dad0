package io.quire.model;

import io.quire.backend.TensorType;
import java.util.Locale;

/**
 * The element type of the CPU's KV cache ({@code quire.kv-cache-dtype}, vLLM's {@code --kv-cache-dtype}).
 * {@link #AUTO} follows the weights: FP16 for quantized ones (llama.cpp's default cache type, so a
 * GGUF file runs as it does there), FP32 for FP32 or 16-bit ones, which the CPU computes in FP32
 * and whose reference outputs (transformers in FP32) an FP16 cache would move. FP16 halves the
 * cache's memory and what a decode step reads from it; on a GPU the cache is in {@code quire.dtype}.
 */
public enum KvCacheDtype {
    AUTO, FLOAT32, FLOAT16;

    /** auto, float32 or float16 (blank: auto); anything else is refused with the accepted values. */
    public static KvCacheDtype parse(String value) {
        if (value == null || value.isBlank()) return AUTO;
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "float32", "fp32", "f32" -> FLOAT32;
            case "float16", "fp16", "f16", "half" -> FLOAT16;
            default -> throw new IllegalArgumentException("quire.kv-cache-dtype must be auto, float32 or float16, not '"
                    + value.trim() + "'");
        };
    }

    /** The cache's type for a model whose matrices are stored as {@code weights}. */
    TensorType typeFor(TensorType weights) {
        return switch (this) {
            case FLOAT32 -> TensorType.F32;
            case FLOAT16 -> TensorType.F16;
            case AUTO -> weights.blockSize() > 1 ? TensorType.F16 : TensorType.F32;
        };
    }
}
