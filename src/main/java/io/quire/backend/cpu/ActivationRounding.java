package io.quire.backend.cpu;

import io.quire.backend.TensorType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The activations a quantized weight type meets in llama.cpp, rounded as ggml rounds them before its
 * integer dot products: the K-quants and IQ4_XS take x as Q8_K (per 256 values a float scale), Q8_0,
 * Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL as Q8_0/Q8_1 (per 32 values an fp16 scale {@code amax/127}). Quire's batch-1 K-quant kernels compute on the Q8_K integers themselves; the
 * other kernels are handed the rounded values {@code d * q} as floats, so every kernel multiplies the
 * same numbers llama.cpp does and only the order of the float sums differs.
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
            case Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL -> true;
            default -> false;
        };
    }

    /**
     * x (batch rows of cols) rounded through Q8_K into {@code out}: {@code d * q} per value, the values
     * {@link Q8K} gives, in vector lanes (the batched products' input: one pass per weight input of a
     * step, about 5% of a 31-sequence Q4_K_M step when it went through Q8K value by value). Per 256
     * values ggml takes the first value of the largest magnitude, with its sign, as the scale's base.
     */
    static void q8k(float[] x, int batch, int cols, float[] out) {
        final var F = Simd.F;
        final int L = Simd.L;
        for (int from = 0, end = batch * cols; from < end; from += 256) {
            int amax = Q8K.largestMagnitude(x, from, 256);
            if (!(Float.intBitsToFloat(amax) > 0)) {
                // All zero, or a NaN (which Q8K's comparisons skip): Q8K's own code, value by value.
                Q8K y = Q8K.local(x, from, 256);
                for (int c = 0; c < 256; c++) out[from + c] = y.d[0] * y.q[c];
                continue;
            }
            float iscale = -127f / x[Q8K.firstOfMagnitude(x, from, amax)];
            float d = 1 / iscale;
            // Q8K clamps q to 127, which |iscale * x| <= 127 (1 + 2^-23) never rounds past.
            for (int j = 0; j < 256; j += L) {
                FloatVector.fromArray(F, x, from + j).mul(iscale).add(Q8K.ROUND).sub(Q8K.ROUND).mul(d)
                        .intoArray(out, from + j);
            }
        }
    }

    /**
     * x (batch rows of cols) rounded through Q8_0/Q8_1 as ggml's x86 (AVX2) quantize_row_q8_0/q8_1 do:
     * {@code fp16(amax/127) * rint(x * (127/amax))}, halves to even. (The portable reference rounds
     * {@code x / d} half away from zero instead; the SIMD path is what llama.cpp runs on x86.)
     */
    static float[] q8_0(float[] x, int batch, int cols) {
        float[] out = new float[batch * cols];
        q8_0(x, batch, cols, out);
        return out;
    }

    /** {@link #q8_0(float[], int, int)} into {@code out}. */
    static void q8_0(float[] x, int batch, int cols, float[] out) {
        final var F = Simd.F;
        final int L = Simd.L;
        for (int from = 0; from < batch * cols; from += 32) {
            float amax = Float.intBitsToFloat(Q8K.largestMagnitude(x, from, 32));
            float dh = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0 ? 127f / amax : 0f;
            // dh * rint(x * id), the rounding in lanes (Q8K.ROUND); a NaN stays a NaN, as (int) rint gave
            // dh * 0 with dh a NaN.
            for (int j = 0; j < 32; j += L) {
                FloatVector.fromArray(F, x, from + j).mul(id).add(Q8K.ROUND).sub(Q8K.ROUND).mul(dh)
                        .intoArray(out, from + j);
            }
        }
    }

    /**
     * Q8_1's block sums of one row of x: {@code fp16(d * sum q)} per 32 values, d = amax/127 unrounded, as
     * ggml's x86 quantize_row_q8_1 stores them. Q4_1 and Q5_1 take their offset m times this sum, so the
     * batch-1 kernels use it in place of the sum of the rounded values.
     */
    static float[] q8_1Sums(float[] x, int cols) {
        return q8_1Sums(x, 1, cols);
    }

    /** {@link #q8_1Sums(float[], int)} of each of the batch rows of x, row after row. */
    static float[] q8_1Sums(float[] x, int batch, int cols) {
        float[] sums = new float[batch * cols / 32];
        for (int b = 0; b < sums.length; b++) {
            int from = 32 * b;
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[from + j]));
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += (int) Math.rint(x[from + j] * id);
            sums[b] = Float.float16ToFloat(Float.floatToFloat16(d * sum));
        }
        return sums;
    }
}
