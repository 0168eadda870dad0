package io.quire.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

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
    /** Sums of q over each 8 values, for {@link Q6_KTiles}: filled by {@link #fillSums8} only. */
    final int[] sums8;

    private Q8K(int cols) {
        q = new int[cols];
        qs = new short[cols];
        qs4k = new short[cols];
        qs6k = new short[cols];
        d = new float[cols / 256];
        bsums = new int[cols / 16];
        sums32 = new int[cols / 32];
        sums8 = new int[cols / 8];
    }

    /** {@link #sums8} of the first {@code cols} values. */
    void fillSums8(int cols) {
        for (int j = 0; j < cols / 8; j++) {
            int s = 0;
            for (int k = 8 * j; k < 8 * j + 8; k++) s += qs[k];
            sums8[j] = s;
        }
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
        }
        // A short prompt's rows over the threads, as Q8_0Activation.locals; a decode step's stay inline.
        long work = (long) batch * cols * SET_OPERATIONS;
        if (Parallel.runsInline(work)) {
            set(ys, x, cols, 0, batch);
        } else {
            Q8K[] rows = ys;
            Parallel.forRange(batch, work, (b0, b1) -> set(rows, x, cols, b0, b1));
        }
        return ys;
    }

    /** Operations per value rounded, as {@link Parallel#forRange(int, long, Parallel.IntRangeBody)} counts work. */
    private static final int SET_OPERATIONS = 32;

    private static void set(Q8K[] ys, float[] x, int cols, int b0, int b1) {
        for (int b = b0; b < b1; b++) ys[b].set(x, b * cols, cols);
    }

    private Q8K set(float[] x, int off, int cols) {
        for (int b = 0; b < cols / 256; b++) {
            int from = off + 256 * b;
            int amax = largestMagnitude(x, from, 256);
            if (Float.intBitsToFloat(amax) > 0) setInLanes(x, from, b, amax);
            else setOneByOne(x, from, b);  // all zero, or a NaN (which the comparisons below skip)
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

    /** Block b from x[from..+256) value by value: ggml's quantize_row_q8_K_ref. */
    private void setOneByOne(float[] x, int from, int b) {
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
            return;
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

    /**
     * Block b as {@link #setOneByOne} sets it, in vector lanes, where the largest magnitude (bits
     * {@code amax}) is a positive number. The first value of that magnitude gives the scale; {@code x
     * * iscale} is rounded by ggml's nearest_int trick ({@link #ROUND}), which {@code |x * iscale| <=
     * 127 (1 + 2^-23)} keeps exact and within the cap of 127. (Value by value this took 1.5% of a
     * one-stream Q4_K_M decode's JFR samples, one thread.)
     */
    private void setInLanes(float[] x, int from, int b, int amax) {
        final var F = Simd.F;
        final int L = Simd.L;
        float iscale = -127f / x[firstOfMagnitude(x, from, amax)];
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int j = 16 * g; j < 16 * g + 16; j += L) {
                IntVector v = (IntVector) FloatVector.fromArray(F, x, from + j).mul(iscale).add(ROUND).sub(ROUND)
                        .convert(VectorOperators.F2I, 0);
                v.intoArray(q, 256 * b + j);
                ((ShortVector) v.convertShape(VectorOperators.I2S, Simd.S, 0)).intoArray(qs, 256 * b + j);
                s += v.reduceLanes(VectorOperators.ADD);
            }
            bsums[16 * b + g] = s;
            if (g % 2 == 0) sums32[8 * b + g / 2] = s;
            else sums32[8 * b + g / 2] += s;
        }
        d[b] = 1 / iscale;
    }

    /** The first of the 256 values from {@code from} whose magnitude has the bits {@code amax} (one has). */
    static int firstOfMagnitude(float[] x, int from, int amax) {
        final var F = Simd.F;
        final int L = Simd.L;
        for (int j = 0; j < 256; j += L) {
            VectorMask<Integer> hit =
                    FloatVector.fromArray(F, x, from + j).reinterpretAsInts().and(0x7fffffff).eq(amax);
            if (hit.anyTrue()) return from + j + hit.firstTrue();
        }
        throw new IllegalArgumentException("no value of magnitude " + Float.intBitsToFloat(amax));
    }

    /**
     * ggml's nearest_int: a float of magnitude below 2^22 plus this, minus it, is its nearest integer,
     * halves to even, as {@code Math.rint} of the float.
     */
    static final float ROUND = 12582912f;

    /**
     * The bits of the largest |x| over {@code x[from..from+n)} (n a multiple of the lanes): a magnitude's
     * bits order as its value, a NaN's above all, so an int max does it in one instruction per vector
     * (a float max keeps Java's NaN and signed-zero rules in several).
     */
    static int largestMagnitude(float[] x, int from, int n) {
        final var F = Simd.F;
        final int L = Simd.L;
        IntVector m = IntVector.zero(Simd.I);
        for (int j = 0; j < n; j += L) {
            m = m.max(FloatVector.fromArray(F, x, from + j).reinterpretAsInts().and(0x7fffffff));
        }
        return m.reduceLanes(VectorOperators.MAX);
    }
}
