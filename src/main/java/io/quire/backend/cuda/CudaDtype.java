package io.quire.backend.cuda;

import io.quire.backend.TensorType;

import java.util.Locale;

import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16F;

/**
 * The 16-bit type a model keeps on the GPU ({@code quire.dtype}, vLLM's {@code --dtype}): its
 * weights, the inputs of its matrix products and its KV cache. FP16 has the finer mantissa (11
 * bits against 8); BF16 has FP32's range, for models whose activations overflow FP16's 65504.
 * Matrix products accumulate in FP32 either way.
 */
public enum CudaDtype {
    FLOAT16("f16", CUDA_R_16F),
    BFLOAT16("bf16", CUDA_R_16BF);

    private final String suffix;
    private final int cudaDataType;

    CudaDtype(String suffix, int cudaDataType) {
        this.suffix = suffix;
        this.cudaDataType = cudaDataType;
    }

    /** The suffix of this type's kernels in {@code cuda/*.cu}: {@code rms_norm_f16}, {@code rms_norm_bf16}. */
    public String kernelSuffix() { return suffix; }

    /** cuBLAS's {@code cudaDataType} for this type. */
    public int cudaDataType() { return cudaDataType; }

    /** The same type as a tensor type: F16 or BF16 (how a {@code KvCacheSpec} names it). */
    public TensorType tensorType() { return this == FLOAT16 ? TensorType.F16 : TensorType.BF16; }

    /** The 16-bit type {@code type} is; anything else has no CUDA cache type. */
    public static CudaDtype of(TensorType type) {
        return switch (type) {
            case F16 -> FLOAT16;
            case BF16 -> BFLOAT16;
            default -> throw new IllegalArgumentException("the GPU keeps FP16 or BF16, not " + type);
        };
    }

    /** {@code float16} or {@code bfloat16}, as the property spells it. */
    public String id() { return this == FLOAT16 ? "float16" : "bfloat16"; }

    /** The 16-bit pattern of {@code f}, rounded to nearest even (the kernels' rounding). */
    public short fromFloat(float f) {
        return this == FLOAT16 ? Float.floatToFloat16(f) : bf16(f);
    }

    public float toFloat(short v) {
        return this == FLOAT16 ? Float.float16ToFloat(v) : Float.intBitsToFloat((v & 0xffff) << 16);
    }

    /** {@code f} rounded to this type and back. */
    public float round(float f) {
        return toFloat(fromFloat(f));
    }

    private static short bf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);  // NaN stays a quiet NaN
        return (short) ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16);
    }

    /**
     * The type {@code spec} names: {@code float16} (also {@code half}, {@code fp16}), {@code bfloat16}
     * ({@code bf16}), or {@code auto}, which takes BF16 for a model stored in BF16 and FP16 for any
     * other (as vLLM's auto keeps a checkpoint's 16-bit type and casts FP32 to FP16).
     */
    public static CudaDtype parse(String spec, TensorType storedType) {
        String s = spec == null || spec.isBlank() ? "auto" : spec.trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "auto" -> storedType == TensorType.BF16 ? BFLOAT16 : FLOAT16;
            case "float16", "half", "fp16", "f16" -> FLOAT16;
            case "bfloat16", "bf16" -> BFLOAT16;
            default -> throw new IllegalArgumentException("unknown dtype '" + spec
                    + "' (expected auto, float16 or bfloat16)");
        };
    }
}
