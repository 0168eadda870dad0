package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHR;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;

/**
 * The batch-1 dot product of Q4_0 rows on 8-lane (AVX2) vectors, as {@link Q8_0Dot} does for Q8_0:
 * two blocks' 16 bytes of nibbles are loaded as one vector of 8 ints (the first block in lanes 0-3,
 * the second in lanes 4-7: two overlapping loads and a blend, both inside the pair's 36 bytes).
 * Nibble k of every int is masked in place (no shift) and converted: {@code n * 16^k}, exact in a
 * float; x is put in the kernel's order once per call ({@link #order}), slice k times {@code 16^-k}
 * (the top nibble is shifted down instead, as its mask would make the int negative), so each product
 * is {@code n x} with the same rounding. The 8 of {@code q - 8} is taken out per lane at the end of a
 * pair with {@code -8} times the lane's sum of x, stored after the pair's x. Per 64 weights: 2
 * loads, a blend, 7 masks and a shift, 8 conversions, 8 FMAs and an add, where the widening kernel
 * spent 8 widening loads, 8 masks or shifts and 8 subtractions on top of the conversions and FMAs.
 */
final class Q4_0Dot {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorMask<Integer> SECOND_BLOCK = VectorMask.fromLong(Simd.I, 0xf0);
    private static final VectorMask<Float> SECOND_HALF = VectorMask.fromLong(Simd.F, 0xf0);
    private static final VectorMask<Integer> FIRST_BLOCK = VectorMask.fromLong(Simd.I, 0x0f);
    /** Floats of {@link #order}'s output per pair of blocks: 64 values of x, then 8 lane sums of -8 x. */
    private static final int PAIR = 72;

    private Q4_0Dot() {}

    /** Whether {@link #dot} runs on this machine's vectors: 8 int lanes hold two blocks' nibbles. */
    static boolean applies() {
        return Simd.L == 8;
    }

    /** Floats {@link #order} writes for {@code cols} values, a last single block counted as a pair. */
    static int orderedLength(int cols) {
        return (cols / 32 + 1) / 2 * PAIR;
    }

    /**
     * {@code cols} values of x from {@code xOff} into {@code into} from {@code intoOff} (offsets left out
     * below), in the kernel's order: for the pair of blocks
     * starting at value {@code v} (pair {@code p = v / 64}), {@code into[72p + 8k + j] =
     * x[v + 32(j/4) + 16(k%2) + 4(j%4) + k/2] * 16^-k} (k < 7; k = 7 unscaled), nibble k of int j,
     * and {@code into[72p + 64 + j] = -8} times the sum of lane j's eight values of x. A last single
     * block leaves lanes 4-7 zero.
     */
    static void order(float[] x, int xOff, int cols, float[] into, int intoOff) {
        for (int v = 0, o = intoOff; v < cols; v += 64, o += PAIR) {
            for (int j = 0; j < 8; j++) {
                float sum = 0;
                for (int k = 0; k < 8; k++) {
                    int at = v + 32 * (j >> 2) + 16 * (k & 1) + 4 * (j & 3) + (k >> 1);
                    float value = at < cols ? x[xOff + at] : 0f;
                    sum += value;
                    into[o + 8 * k + j] = k < 7 ? Math.scalb(value, -4 * k) : value;
                }
                into[o + 64 + j] = -8 * sum;
            }
        }
    }

    /** Q4_0 row at absolute address {@code off} dotted with x in {@link #order}'s order, from {@code xoOff}. */
    static float dot(long off, float[] xo, int xoOff, int cols) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        // a: the first block of each pair (lanes 0-3 count), a2: the second (lanes 4-7). Each block's
        // scale goes on all lanes into its own sum: a blend of the two scales into one vector per pair
        // made the kernel 1.8x slower.
        FloatVector a = FloatVector.zero(F), a2 = a;
        int blocks = cols / 32;
        int b = 0, xc = xoOff;
        for (; b + 2 <= blocks; b += 2, off += 36, xc += PAIR) {
            // Lanes 0-3 from the first block's quants (off + 2), lanes 4-7 from the second's (off + 20),
            // read by a load that starts 16 bytes before them: both loads stay inside the pair.
            IntVector q = IntVector.fromMemorySegment(I, seg, off + 2, LE)
                    .blend(IntVector.fromMemorySegment(I, seg, off + 4, LE), SECOND_BLOCK);
            // Written out here, not in a helper: a vector crossing a call C2 did not inline is boxed.
            FloatVector p0 = ((FloatVector) q.and(0xf).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc),
                    FloatVector.fromArray(F, xo, xc + 64));
            FloatVector p1 = ((FloatVector) q.and(0xf0).convert(I2F, 0)).mul(FloatVector.fromArray(F, xo, xc + 8));
            p0 = ((FloatVector) q.and(0xf00).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 16), p0);
            p1 = ((FloatVector) q.and(0xf000).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 24), p1);
            p0 = ((FloatVector) q.and(0xf0000).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 32), p0);
            p1 = ((FloatVector) q.and(0xf00000).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 40), p1);
            p0 = ((FloatVector) q.and(0xf000000).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 48), p0);
            p1 = ((FloatVector) q.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 56), p1);
            FloatVector p = p0.add(p1);
            a = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off))), a);
            a2 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 18))), a2);
        }
        if (b < blocks) {
            // A last single block: lanes 4-7 masked off (read as 0; x and its sums there are 0 too).
            IntVector q = IntVector.fromMemorySegment(I, seg, off + 2, LE, FIRST_BLOCK);
            FloatVector p = FloatVector.fromArray(F, xo, xc + 64);
            for (int k = 0; k < 7; k++) {
                p = ((FloatVector) q.and(0xf << 4 * k).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 8 * k), p);
            }
            p = ((FloatVector) q.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xo, xc + 56), p);
            a = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off))), a);
        }
        return a.blend(a2, SECOND_HALF).reduceLanes(ADD);
    }
}
