package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch-1 IQ4_NL rows times a {@link Q8_0Activation} in 16-bit lanes, as ggml_vec_dot_iq4_nl_q8_0 sums:
 * per block {@code d_w d_x sum grid[q] q8}, the integer sum exact. IQ4_NL is Q4_0's layout (18 bytes per
 * 32 values) with its nibbles indexing the non-linear grid of IQ4_XS; so this is {@link Q4_0ShortDot}
 * with the nibbles looked up ({@code selectFrom}, one {@code vpermw}) instead of offset by 8, and the two
 * halves' products (each up to 127 x 127, one a short) pair-summed apart, not added first. On machines
 * with 16 float lanes only ({@link #applies}): 8-lane machines have no {@code vpermw} and keep
 * {@link SmallBlockDot#iq4nl}.
 */
final class Iq4NlShortDot {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    private Iq4NlShortDot() {}

    /** Whether {@link MatMul} takes this kernel for batch-1 IQ4_NL rows: with 16 float lanes (AVX-512). */
    static boolean applies() {
        return Simd.L >= 16;
    }

    /** n consecutive IQ4_NL rows from absolute address {@code first} times y, into {@code out[outOff..+n)}. */
    static void rows(long first, int n, Q8_0Activation y, int cols, float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        final short[] qs = y.qs;
        final float[] dx = y.d;
        final ShortVector grid = ShortVector.fromArray(S16, KQuants.IQ4_GRID_SHORTS, 0);
        final int blocks = cols / 32;
        final long rowBytes = 18L * blocks;
        for (int r = 0; r < n; r++) {
            long off = first + r * rowBytes;
            // Four blocks per iteration into four sums, written out as in Q4_0ShortDot (and for its reasons).
            FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
            int b = 0;
            for (; b + 4 <= blocks; b += 4, off += 72) {
                ShortVector q0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 2, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m0 = q0.and((short) 15).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, qs, 32 * b)).reinterpretAsInts();
                IntVector h0 = q0.lanewise(LSHR, 4).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, qs, 32 * b + 16)).reinterpretAsInts();
                IntVector p0 = m0.add(m0.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .add(h0.add(h0.lanewise(LSHL, 16)).lanewise(ASHR, 16));
                a0 = ((FloatVector) p0.convert(I2F, 0)).fma(FloatVector.broadcast(F8,
                        Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off)) * dx[b]), a0);
                ShortVector q1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 20, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m1 = q1.and((short) 15).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, qs, 32 * b + 32)).reinterpretAsInts();
                IntVector h1 = q1.lanewise(LSHR, 4).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, qs, 32 * b + 48)).reinterpretAsInts();
                IntVector p1 = m1.add(m1.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .add(h1.add(h1.lanewise(LSHL, 16)).lanewise(ASHR, 16));
                a1 = ((FloatVector) p1.convert(I2F, 0)).fma(FloatVector.broadcast(F8,
                        Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 18)) * dx[b + 1]), a1);
                ShortVector q2 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 38, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m2 = q2.and((short) 15).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, qs, 32 * b + 64)).reinterpretAsInts();
                IntVector h2 = q2.lanewise(LSHR, 4).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, qs, 32 * b + 80)).reinterpretAsInts();
                IntVector p2 = m2.add(m2.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .add(h2.add(h2.lanewise(LSHL, 16)).lanewise(ASHR, 16));
                a2 = ((FloatVector) p2.convert(I2F, 0)).fma(FloatVector.broadcast(F8,
                        Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 36)) * dx[b + 2]), a2);
                ShortVector q3 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 56, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m3 = q3.and((short) 15).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, qs, 32 * b + 96)).reinterpretAsInts();
                IntVector h3 = q3.lanewise(LSHR, 4).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, qs, 32 * b + 112)).reinterpretAsInts();
                IntVector p3 = m3.add(m3.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .add(h3.add(h3.lanewise(LSHL, 16)).lanewise(ASHR, 16));
                a3 = ((FloatVector) p3.convert(I2F, 0)).fma(FloatVector.broadcast(F8,
                        Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 54)) * dx[b + 3]), a3);
            }
            for (; b < blocks; b++, off += 18) {
                ShortVector q0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 2, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m0 = q0.and((short) 15).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, qs, 32 * b)).reinterpretAsInts();
                IntVector h0 = q0.lanewise(LSHR, 4).selectFrom(grid)
                        .mul(ShortVector.fromArray(S16, qs, 32 * b + 16)).reinterpretAsInts();
                IntVector p0 = m0.add(m0.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .add(h0.add(h0.lanewise(LSHL, 16)).lanewise(ASHR, 16));
                a0 = ((FloatVector) p0.convert(I2F, 0)).fma(FloatVector.broadcast(F8,
                        Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off)) * dx[b]), a0);
            }
            out[outOff + r] = a0.add(a1).add(a2.add(a3)).reduceLanes(ADD);
        }
    }
}
