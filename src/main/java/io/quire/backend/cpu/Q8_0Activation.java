package io.quire.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * An activation row quantized to ggml's Q8_0 as integers, for {@link Q4_0ShortDot} and
 * {@link Iq4NlShortDot} (which has no use for the offsets below): per 32 values the
 * scale {@code d = fp16(amax / 127)} and {@code q = rint(x * 127 / amax)}, the rounding of
 * {@link ActivationRounding#q8_0} (whose floats are {@code d * q}), held as shorts for 16-bit products;
 * and per block the eight offsets of Q4_0's 8, {@code 8 * (q[2j] + q[2j+1] + q[2j+16] + q[2j+17])}, one
 * per int lane of the kernel's pair sums. A block holding a NaN gets a NaN scale, so that a NaN still
 * reaches the sum as it did through the floats.
 */
final class Q8_0Activation {
    /** Per thread, one per vector of a call: grown to the widest row met, no allocation per call. */
    private static final ThreadLocal<Q8_0Activation[]> LOCALS = ThreadLocal.withInitial(() -> new Q8_0Activation[0]);
    private static final ThreadLocal<int[]> BLOCK = ThreadLocal.withInitial(() -> new int[32]);

    /**
     * This thread's room for one block's integers, for {@link #quantizeBlock}: an array per call of the
     * packing loops was 100-200 KiB of garbage a 500-token prompt (C2 did not take it off the heap).
     */
    static int[] blockInts() {
        return BLOCK.get();
    }

    final short[] qs;
    final float[] d;
    final int[] offsets;
    /** Per block, 8 times the sum of its integers ({@link Q4_0Tiles}: the 8 of Q4_0's {@code q - 8}). */
    final int[] eightSums;
    /** Ints of one block's rounding, a scratch. */
    private final int[] block = new int[32];

    private Q8_0Activation(int cols) {
        qs = new short[cols];
        d = new float[cols / 32];
        offsets = new int[cols / 32 * 8];
        eightSums = new int[cols / 32];
    }

    /**
     * Each of the {@code batch} rows of x (cols values each, a multiple of 32) into one of this thread's
     * activations: valid until the thread's next call.
     */
    static Q8_0Activation[] locals(float[] x, int batch, int cols) {
        Q8_0Activation[] ys = LOCALS.get();
        if (ys.length < batch) {
            ys = java.util.Arrays.copyOf(ys, batch);
            LOCALS.set(ys);
        }
        for (int b = 0; b < batch; b++) {
            if (ys[b] == null || ys[b].qs.length < cols) ys[b] = new Q8_0Activation(cols);
        }
        // A short prompt's rows over the threads: on the calling thread alone they were 6% of its
        // samples in a two-thread 16-token Q4_0 prefill, the helper waiting. A decode step's few stay
        // inline, without a lambda.
        long work = (long) batch * cols * SET_OPERATIONS;
        if (Parallel.runsInline(work)) {
            set(ys, x, cols, 0, batch);
        } else {
            Q8_0Activation[] rows = ys;
            Parallel.forRange(batch, work, (b0, b1) -> set(rows, x, cols, b0, b1));
        }
        return ys;
    }

    /**
     * Operations per value rounded, as {@link Parallel#forRange(int, long, Parallel.IntRangeBody)} counts
     * work (a multiply-add each): rounding a value costs about what 50-100 multiply-adds of a kernel do.
     */
    private static final int SET_OPERATIONS = 32;

    private static void set(Q8_0Activation[] ys, float[] x, int cols, int b0, int b1) {
        for (int b = b0; b < b1; b++) ys[b].set(x, b * cols, cols);
    }

    private void set(float[] x, int off, int cols) {
        final int L = Simd.L;
        for (int blk = 0; blk < cols / 32; blk++) {
            d[blk] = quantizeBlock(x, off + 32 * blk, block);
            for (int j = 0; j < 32; j += L) {
                ((ShortVector) IntVector.fromArray(Simd.I, block, j).convertShape(VectorOperators.I2S, Simd.S, 0))
                        .intoArray(qs, 32 * blk + j);
            }
            int sum = 0;
            for (int lane = 0; lane < 8; lane++) {
                offsets[8 * blk + lane] = 8 * (block[2 * lane] + block[2 * lane + 1] + block[2 * lane + 16]
                        + block[2 * lane + 17]);
                sum += offsets[8 * blk + lane];
            }
            eightSums[blk] = sum;
        }
    }

    /**
     * The 32 values of x from {@code from} as Q8_0: their integers into {@code q[0..32)}, their scale
     * returned (a NaN when the block holds one). Also {@link Q4_0ShortTile}'s rounding of a batch.
     */
    static float quantizeBlock(float[] x, int from, int[] q) {
        final var F = Simd.F;
        final int L = Simd.L;
        float amax = Float.intBitsToFloat(Q8K.largestMagnitude(x, from, 32));
        float id = amax != 0 ? 127f / amax : 0f;
        for (int j = 0; j < 32; j += L) {
            ((IntVector) FloatVector.fromArray(F, x, from + j).mul(id).add(Q8K.ROUND).sub(Q8K.ROUND)
                    .convert(VectorOperators.F2I, 0)).intoArray(q, j);
        }
        // A NaN's bits order above every magnitude's, so amax is a NaN when the block holds one.
        return Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
    }
}
