package io.quire.backend.cpu;

import io.quire.backend.TensorType;

/**
 * The activations a quantized weight type meets in llama.cpp, rounded as ggml rounds them before its
 * integer dot products: the K-quants and IQ4_XS take x as Q8_K (per 256 values a float scale), Q4_1,
 * Q5_0, Q5_1 and IQ4_NL as Q8_0/Q8_1 (per 32 values an fp16 scale {@code amax/127}, values rounded
 * half away from zero). Quire's batch-1 K-quant kernels compute on the Q8_K integers themselves; the
 * other kernels are handed the rounded values {@code d * q} as floats, so every kernel multiplies the
 * same numbers llama.cpp does and only the order of the float sums differs. (Q8_0 and Q4_0 keep float
 * activations, as they always have here.)
 */
final class ActivationRounding {
    private ActivationRounding() {}

    /** Whether {@code type} takes its activations as Q8_K. */
    static boolean usesQ8K(TensorType type) {
        return switch (type) {
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS -> true;
            default -> false;
        };
    }

    /** Whether {@code type} takes its activations as Q8_0 (or Q8_1, whose values are the same). */
    static boolean usesQ8_0(TensorType type) {
        return switch (type) {
            case Q4_1, Q5_0, Q5_1, IQ4_NL -> true;
            default -> false;
        };
    }

    /** x (batch rows of cols) rounded through Q8_K: {@code d * q} per value. */
    static float[] q8k(float[] x, int batch, int cols) {
        float[] out = new float[batch * cols];
        for (int b = 0; b < batch; b++) {
            Q8K y = Q8K.quantize(x, b * cols, cols);
            for (int c = 0; c < cols; c++) out[b * cols + c] = y.d[c / 256] * y.q[c];
        }
        return out;
    }

    /** x (batch rows of cols) rounded through Q8_0 (quantize_row_q8_0_ref): {@code fp16(d) * q} per value. */
    static float[] q8_0(float[] x, int batch, int cols) {
        float[] out = new float[batch * cols];
        for (int from = 0; from < batch * cols; from += 32) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[from + j]));
            float d = amax / 127f;
            float id = d != 0 ? 1.0f / d : 0.0f;
            float dh = Float.float16ToFloat(Float.floatToFloat16(d));
            for (int j = 0; j < 32; j++) {
                float v = x[from + j] * id;
                int q = (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);  // C roundf
                out[from + j] = dh * q;
            }
        }
        return out;
    }
}
