package io.quire.backend.cpu;

/**
 * An activation row quantized to ggml's Q8_K, as llama.cpp does before a K-quant matmul
 * (quantize_row_q8_K_ref): per 256 values one float scale {@code d = max / -127} (max being the value of
 * largest magnitude), int8 {@code q = round-half-even(x / d)} capped at 127, and the sums of q over each
 * 16 values, which the kernels use for the weights' per-group offsets (mins). The row is quantized once
 * per matmul and then read by every weight row, so K-quant dot products run in integers per block.
 */
final class Q8K {
    /** The int8 values, held widened to int: the kernels load them straight into int lanes. */
    final int[] q;
    final float[] d;
    final int[] bsums;
    /** Sums of q over each 32 values (the Q4_K/Q5_K groups). */
    final int[] sums32;

    private Q8K(int cols) {
        q = new int[cols];
        d = new float[cols / 256];
        bsums = new int[cols / 16];
        sums32 = new int[cols / 32];
    }

    /** {@code cols} values of x from {@code off} (cols a multiple of 256). */
    static Q8K quantize(float[] x, int off, int cols) {
        Q8K y = new Q8K(cols);
        for (int b = 0; b < cols / 256; b++) {
            int from = off + 256 * b;
            float max = 0, amax = 0;
            for (int j = 0; j < 256; j++) {
                float ax = Math.abs(x[from + j]);
                if (ax > amax) {
                    amax = ax;
                    max = x[from + j];
                }
            }
            if (amax == 0) continue;  // q, d and bsums stay 0
            float iscale = -127f / max;
            for (int j = 0; j < 256; j++) {
                // nearest_int: the float's nearest integer, halves to even (Math.rint of the float product).
                int v = (int) Math.rint(iscale * x[from + j]);
                y.q[256 * b + j] = Math.min(127, v);
            }
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int j = 0; j < 16; j++) s += y.q[256 * b + 16 * g + j];
                y.bsums[16 * b + g] = s;
                y.sums32[8 * b + g / 2] += s;
            }
            y.d[b] = 1 / iscale;
        }
        return y;
    }
}
