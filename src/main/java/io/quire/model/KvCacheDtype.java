package io.quire.model;

import io.quire.backend.TensorType;
import java.util.Locale;

/**
 * The element type of the CPU's KV cache ({@code quire.kv-cache-dtype}, vLLM's {@code --kv-cache-dtype}).
 * {@link #AUTO} follows the weights: FP16 for quantized ones (llama.cpp's default cache type, so a
 * GGUF file runs as it does there), FP32 for FP32 or 16-bit ones, which the CPU computes in FP32
 * and whose reference outputs (transformers in FP32) an FP16 cache would move. FP16 halves the
 * cache's memory and what a decode step reads from it; the FP8 formats (vLLM's {@code fp8},
 * {@code fp8_e4m3}, {@code fp8_e5m2}, unscaled) halve them again, at 3 or 2 mantissa bits, so they
 * are chosen, never automatic. On a GPU the cache is in {@code quire.dtype}.
 */
public enum KvCacheDtype {
    AUTO, FLOAT32, FLOAT16, FP8_E4M3, FP8_E5M2;

    /** The values {@link #parse} accepts, for messages. */
    public static final String ACCEPTED = "auto, float32, float16, fp8 (fp8_e4m3) or fp8_e5m2";

    /** One of {@link #ACCEPTED} (blank: auto); anything else is refused with the accepted values. */
    public static KvCacheDtype parse(String value) {
        if (value == null || value.isBlank()) return AUTO;
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "float32", "fp32", "f32" -> FLOAT32;
            case "float16", "fp16", "f16", "half" -> FLOAT16;
            case "fp8", "fp8_e4m3" -> FP8_E4M3;
            case "fp8_e5m2" -> FP8_E5M2;
            default -> throw new IllegalArgumentException("quire.kv-cache-dtype must be " + ACCEPTED + ", not '"
                    + value.trim() + "'");
        };
    }

    /** The name a load line or a benchmark shows for a cache of {@code type}: float32, float16, fp8_e4m3, fp8_e5m2. */
    public static String nameOf(TensorType type) {
        return switch (type) {
            case F16 -> "float16";
            case F8_E4M3 -> "fp8_e4m3";
            case F8_E5M2 -> "fp8_e5m2";
            default -> "float32";
        };
    }

    /** The cache's type for a model whose matrices are stored as {@code weights}. */
    public TensorType typeFor(TensorType weights) {
        return switch (this) {
            case FLOAT32 -> TensorType.F32;
            case FLOAT16 -> TensorType.F16;
            case FP8_E4M3 -> TensorType.F8_E4M3;
            case FP8_E5M2 -> TensorType.F8_E5M2;
            case AUTO -> weights.blockSize() > 1 ? TensorType.F16 : TensorType.F32;
        };
    }
}
