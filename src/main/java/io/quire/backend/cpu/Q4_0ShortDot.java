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
 * Batch-1 Q4_0 rows times a {@link Q8_0Activation} in 16-bit lanes, as ggml_vec_dot_q4_0_q8_0 sums:
 * per block {@code d_w d_x sum (q - 8) q8}, the integer sum exact. A block's 16 bytes widen to 16
 * shorts; the low nibbles times q8[0..15] plus the high ones times q8[16..31] is one short per lane
 * (at most 2 x 15 x 127), adjacent pairs are summed into 8 int lanes in three operations as in
 * {@link KQuantDot}, the 8s come off with the activation's per-lane offsets, and the lanes go to
 * floats times the two scales: about 15 operations on 256-bit vectors per block, where the float
 * kernel it replaced widened each nibble to a float lane, 9 operations on 512-bit vectors, which Zen 4
 * runs as two halves each. Four blocks go into four sums at a time: with two the kernel was bound by
 * their latency (bench kernels, 3072 x 768, one thread: 145 us a call against 129 with four and 162 for
 * the float kernel; eight sums were no faster, and one run of them compiled 2.7x slower).
 * 256-bit vectors whatever the machine's width: with 8 float lanes (this Zen 4 at
 * {@code -Dquire.vector-bits=256}) it ran 1.17x the ninth session's masked-nibble kernel for AVX2, which
 * it replaced (129.5 and 131.6 us against 151.7 and 175.1; not measured on an AVX2-only machine).
 */
final class Q4_0ShortDot {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    private Q4_0ShortDot() {}

    /** n consecutive Q4_0 rows from absolute address {@code first} times y, into {@code out[outOff..+n)}. */
    static void rows(long first, int n, Q8_0Activation y, int cols, float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        final short[] qs = y.qs;
        final float[] dx = y.d;
        final int[] offsets = y.offsets;
        final int blocks = cols / 32;
        final long rowBytes = 18L * blocks;
        for (int r = 0; r < n; r++) {
            long off = first + r * rowBytes;
            // Four blocks per iteration into four sums, so that no block's FMA waits on another's. Written
            // out four times: a helper taking or returning a vector is boxed unless C2 inlines it.
            FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
            int b = 0;
            for (; b + 4 <= blocks; b += 4, off += 72) {
                ShortVector q0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 2, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m0 = q0.and((short) 15).mul(ShortVector.fromArray(S16, qs, 32 * b))
                        .add(q0.lanewise(LSHR, 4).mul(ShortVector.fromArray(S16, qs, 32 * b + 16)))
                        .reinterpretAsInts();
                IntVector p0 = m0.add(m0.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .sub(IntVector.fromArray(I8, offsets, 8 * b));
                a0 = ((FloatVector) p0.convert(I2F, 0)).fma(FloatVector.broadcast(F8,
                        Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off)) * dx[b]), a0);
                ShortVector q1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 20, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m1 = q1.and((short) 15).mul(ShortVector.fromArray(S16, qs, 32 * b + 32))
                        .add(q1.lanewise(LSHR, 4).mul(ShortVector.fromArray(S16, qs, 32 * b + 48)))
                        .reinterpretAsInts();
                IntVector p1 = m1.add(m1.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .sub(IntVector.fromArray(I8, offsets, 8 * b + 8));
                a1 = ((FloatVector) p1.convert(I2F, 0)).fma(FloatVector.broadcast(F8,
                        Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 18)) * dx[b + 1]), a1);
                ShortVector q2 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 38, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m2 = q2.and((short) 15).mul(ShortVector.fromArray(S16, qs, 32 * b + 64))
                        .add(q2.lanewise(LSHR, 4).mul(ShortVector.fromArray(S16, qs, 32 * b + 80)))
                        .reinterpretAsInts();
                IntVector p2 = m2.add(m2.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .sub(IntVector.fromArray(I8, offsets, 8 * b + 16));
                a2 = ((FloatVector) p2.convert(I2F, 0)).fma(FloatVector.broadcast(F8,
                        Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 36)) * dx[b + 2]), a2);
                ShortVector q3 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 56, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m3 = q3.and((short) 15).mul(ShortVector.fromArray(S16, qs, 32 * b + 96))
                        .add(q3.lanewise(LSHR, 4).mul(ShortVector.fromArray(S16, qs, 32 * b + 112)))
                        .reinterpretAsInts();
                IntVector p3 = m3.add(m3.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .sub(IntVector.fromArray(I8, offsets, 8 * b + 24));
                a3 = ((FloatVector) p3.convert(I2F, 0)).fma(FloatVector.broadcast(F8,
                        Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 54)) * dx[b + 3]), a3);
            }
            for (; b < blocks; b++, off += 18) {
                ShortVector q0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, off + 2, LE)
                        .convertShape(ZERO_EXTEND_B2S, S16, 0);
                IntVector m0 = q0.and((short) 15).mul(ShortVector.fromArray(S16, qs, 32 * b))
                        .add(q0.lanewise(LSHR, 4).mul(ShortVector.fromArray(S16, qs, 32 * b + 16)))
                        .reinterpretAsInts();
                IntVector p0 = m0.add(m0.lanewise(LSHL, 16)).lanewise(ASHR, 16)
                        .sub(IntVector.fromArray(I8, offsets, 8 * b));
                a0 = ((FloatVector) p0.convert(I2F, 0)).fma(FloatVector.broadcast(F8,
                        Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off)) * dx[b]), a0);
            }
            out[outOff + r] = a0.add(a1).add(a2.add(a3)).reduceLanes(ADD);
        }
    }
}
