package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.XOR;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * The batch-1 dot product of Q8_0 rows on 8-lane (AVX2) vectors: each block's 32 quants are loaded
 * as one vector of 8 ints, so lane j of slice k holds quant {@code 4j + k}. x is put in that order
 * once per call ({@link #order}), for all rows. One bounds-checked load per 32 weights instead of
 * four: 1.35x the weights per second of the byte-widening kernel in a scratch loop (12.4-13.0 against
 * 9.1-9.7 weights/ns from memory), where both were bound by instructions, not bandwidth. The bytes
 * are made unsigned ({@code q + 128}, one XOR) and masked in place, not shifted out (two shifts
 * each): converted, byte k is {@code (q + 128) 256^k}, exact in a float, so x's order carries
 * {@code 256^-k} (products keep their rounding) and each lane starts from {@code -128} times its sum
 * of x, as the ninth session's Q4_0 kernel did for its 8: 1.11-1.13x ({@code bench kernels --rows 4096 --cols 2048 --types
 * Q8_0 --batches 1 --threads 1,2}).
 */
final class Q8_0Dot {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Q8_0Dot() {}

    /** Whether {@link #dot} runs on this machine's vectors: 8 float lanes make 32 bytes, one block's quants. */
    static boolean applies() {
        return Simd.L == 8;
    }

    /** Floats of {@link #order}'s output per block: 32 values of x, then 8 lane sums of -128 x. */
    static final int BLOCK = 40;

    /** Floats {@link #order} writes for {@code cols} values. */
    static int orderedLength(int cols) {
        return cols / 32 * BLOCK;
    }

    /**
     * {@code cols} values of x from {@code xOff} into {@code into} from {@code intoOff} (offsets left out
     * below), per 32-value block b: {@code into[40b + 8k + j] =
     * x[32b + 4j + k] * 256^-k} (k < 3; k = 3 unscaled), and {@code into[40b + 32 + j] = -128} times the
     * sum of lane j's four values.
     */
    static void order(float[] x, int xOff, int cols, float[] into, int intoOff) {
        for (int b = 0, o = intoOff; b < cols; b += 32, o += BLOCK) {
            for (int j = 0; j < 8; j++) {
                float sum = 0;
                for (int k = 0; k < 4; k++) {
                    float value = x[xOff + b + 4 * j + k];
                    sum += value;
                    into[o + 8 * k + j] = k < 3 ? Math.scalb(value, -8 * k) : value;
                }
                into[o + 32 + j] = -128 * sum;
            }
        }
    }

    /** Q8_0 row at absolute address {@code off} dotted with x in {@link #order}'s order, from {@code xoOff}. */
    static float dot(long off, float[] xo, int xoOff, int cols) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int blocks = cols / 32;
        int b = 0;
        // Two blocks per iteration, each in its own chains, so consecutive blocks do not wait on each
        // other's FMA latency. (Four chains per block were no faster.)
        for (; b + 2 <= blocks; b += 2, off += 68) {
            int xc = xoOff + BLOCK * b;
            // XOR 0x80 makes each signed byte q an unsigned q + 128, masked in place and converted as
            // (q + 128) 256^k; x's order carries 256^-k and the -128 sum x.
            IntVector q0 = IntVector.fromMemorySegment(I, seg, off + 2, LE).lanewise(XOR, 0x80808080);
            IntVector q1 = IntVector.fromMemorySegment(I, seg, off + 36, LE).lanewise(XOR, 0x80808080);
            FloatVector p0 = ((FloatVector) q0.and(0xff).convert(I2F, 0))
                    .fma(FloatVector.fromArray(F, xo, xc), FloatVector.fromArray(F, xo, xc + 32));
            FloatVector p1 = ((FloatVector) q1.and(0xff).convert(I2F, 0))
                    .fma(FloatVector.fromArray(F, xo, xc + 40), FloatVector.fromArray(F, xo, xc + 72));
            p0 = ((FloatVector) q0.and(0xff00).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 8), p0);
            p1 = ((FloatVector) q1.and(0xff00).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 48), p1);
            p0 = ((FloatVector) q0.and(0xff0000).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 16), p0);
            p1 = ((FloatVector) q1.and(0xff0000).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 56), p1);
            p0 = ((FloatVector) q0.lanewise(LSHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 24), p0);
            p1 = ((FloatVector) q1.lanewise(LSHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 64), p1);
            a0 = p0.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off))), a0);
            a1 = p1.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 34))), a1);
        }
        if (b < blocks) {
            int xc = xoOff + BLOCK * b;
            IntVector q0 = IntVector.fromMemorySegment(I, seg, off + 2, LE).lanewise(XOR, 0x80808080);
            FloatVector p0 = ((FloatVector) q0.and(0xff).convert(I2F, 0))
                    .fma(FloatVector.fromArray(F, xo, xc), FloatVector.fromArray(F, xo, xc + 32));
            p0 = ((FloatVector) q0.and(0xff00).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 8), p0);
            p0 = ((FloatVector) q0.and(0xff0000).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 16), p0);
            p0 = ((FloatVector) q0.lanewise(LSHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 24), p0);
            a0 = p0.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off))), a0);
        }
        return a0.add(a1).reduceLanes(ADD);
    }
}
