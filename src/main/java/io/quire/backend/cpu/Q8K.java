package io.quire.backend.cpu;

/**
 * An activation row quantized to ggml's Q8_K, as llama.cpp does before a K-quant matmul
 * (quantize_row_q8_K_ref): per 256 values one float scale {@code d = max / -127} (max being the value of
 * largest magnitude), int8 {@code q = round-half-even(x / d)} capped at 127, and the sums of q over each
 * 16 values, which the kernels use for the weights' per-group offsets (mins). The row is quantized once
 * per matmul and then read by every weight row, so K-quant dot products run in integers per block.
 */
final class Q8K {
    /** One per thread for the kernels' calls, grown to the widest row it met: no allocation per call. */
    private static final ThreadLocal<Q8K> LOCAL = ThreadLocal.withInitial(() -> new Q8K(0));

    /** The int8 values, held widened to int: the kernels load them straight into int lanes. */
    final int[] q;
    /** The same values as shorts, for kernels that multiply in 16-bit lanes (twice as many per vector). */
    final short[] qs;
    /**
     * qs in the order of {@link SlicedKQuantDot#q4k}'s nibbles: per 64 values,
     * {@code qs4k[16n + i] = qs[32 * (n & 1) + 2i + n / 2]}.
     */
    final short[] qs4k;
    /**
     * qs in the order of {@link SlicedKQuantDot#q6k}: per 32 values, the even ones then the odd ones,
     * {@code qs6k[16p + i] = qs[2i + p]}. This and qs4k are filled only where those kernels apply.
     */
    final short[] qs6k;
    final float[] d;
    final int[] bsums;
    /** Sums of q over each 32 values (the Q4_K/Q5_K groups). */
    final int[] sums32;

    private Q8K(int cols) {
        q = new int[cols];
        qs = new short[cols];
        qs4k = new short[cols];
        qs6k = new short[cols];
        d = new float[cols / 256];
        bsums = new int[cols / 16];
        sums32 = new int[cols / 32];
    }

    /**
     * {@code cols} values of x from {@code off} (cols a multiple of 256), into this thread's Q8K: valid
     * until the thread's next call, and its arrays may be longer than {@code cols}.
     */
    static Q8K local(float[] x, int off, int cols) {
        Q8K y = LOCAL.get();
        if (y.q.length < cols) {
            y = new Q8K(cols);
            LOCAL.set(y);
        }
        return y.set(x, off, cols);
    }

    /** Per thread, one Q8K per vector that {@link MatMul}'s batch-1 kernels take (batch 1 or a small batch). */
    private static final ThreadLocal<Q8K[]> LOCALS = ThreadLocal.withInitial(() -> new Q8K[0]);

    /**
     * Each of the {@code batch} rows of x (cols values each) into one of this thread's Q8Ks, as
     * {@link #local}: valid until the thread's next call.
     */
    static Q8K[] locals(float[] x, int batch, int cols) {
        Q8K[] ys = LOCALS.get();
        if (ys.length < batch) {
            ys = java.util.Arrays.copyOf(ys, batch);
            LOCALS.set(ys);
        }
        for (int b = 0; b < batch; b++) {
            if (ys[b] == null || ys[b].q.length < cols) ys[b] = new Q8K(cols);
            ys[b].set(x, b * cols, cols);
        }
        return ys;
    }

    private Q8K set(float[] x, int off, int cols) {
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
            for (int g = 0; g < 8; g++) sums32[8 * b + g] = 0;
            if (amax == 0) {  // q, d and the sums are 0
                for (int j = 0; j < 256; j++) {
                    q[256 * b + j] = 0;
                    qs[256 * b + j] = 0;
                }
                for (int g = 0; g < 16; g++) bsums[16 * b + g] = 0;
                d[b] = 0;
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < 256; j++) {
                // nearest_int: the float's nearest integer, halves to even (Math.rint of the float product).
                int v = (int) Math.rint(iscale * x[from + j]);
                q[256 * b + j] = Math.min(127, v);
                qs[256 * b + j] = (short) q[256 * b + j];
            }
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int j = 0; j < 16; j++) s += q[256 * b + 16 * g + j];
                bsums[16 * b + g] = s;
                sums32[8 * b + g / 2] += s;
            }
            d[b] = 1 / iscale;
        }
        if (!SlicedKQuantDot.applies()) return this;  // only its kernels read the reordered copies
        for (int g = 0; g < cols; g += 64) {
            for (int n = 0; n < 4; n++) {
                for (int i = 0; i < 16; i++) qs4k[g + 16 * n + i] = qs[g + 32 * (n & 1) + 2 * i + n / 2];
            }
        }
        for (int g = 0; g < cols; g += 32) {
            for (int i = 0; i < 16; i++) {
                qs6k[g + i] = qs[g + 2 * i];
                qs6k[g + 16 + i] = qs[g + 2 * i + 1];
            }
        }
        return this;
    }
}
