package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.B2I;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch-1 dot products of a Q4_K, Q5_K or Q6_K weight row (at an absolute address, see {@link Simd#ALL})
 * with a {@link Q8K} activation row, block by block as ggml_vec_dot_q*_K_q8_K: the integer quants times
 * the int8 activations times each group's integer scale, summed per block, and only then scaled by the
 * block's float scales; the groups' mins (Q4_K/Q5_K) and Q6_K's offset of 32 come in through the
 * activation's group sums. (Forming the integer products exactly in float lanes with FMAs measured
 * slower: the FMA latency chains dominate a 256-value block.)
 *
 * <p>Q4_K and Q5_K multiply in 16-bit lanes: a 4- or 5-bit quant times an int8 activation fits a
 * short, so one vpmullw forms 2L products where int lanes took two vpmulld (two uops each) for L;
 * adjacent pairs are then summed into int lanes (each int's halves, sign-extended). The integers are
 * the same, so the results are too, bit for bit; one thread of {@code bench kernels --types Q4_K}
 * went from 9.5-9.9 to 6.3-7.8 ms per call (32000 x 2048, median of 15, A B A B). A group's two
 * product vectors (16 short lanes) are added as shorts first, and a pair is summed in three
 * operations, {@code (m + (m << 16)) >> 16}, not five: the kernels are bound by their instruction
 * count, not by memory (on an AVX2 core, Q4_K ran about 340 instructions per 256-value block).
 *
 * <p>Each kernel takes n consecutive rows and loops over them itself ({@link MatMul}'s caller says why).
 *
 * <p>Loops step by the lane count L (8 or 16), so one vector never straddles two 16-value scale groups.
 * Written flat like {@link MatMul}'s kernels: a helper taking or returning a vector would box it.
 * The fp16 block scales are read inline too: a shared {@code half(addr)} helper, compiled on its own
 * by the time these were, stayed a call (with the vector registers saved around it) twice per block.
 */
final class KQuantDot {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private KQuantDot() {}

    // Q4_K/Q5_K block scales unpacked in 8 int lanes (a 256-bit vector on any AVX machine): lane k
    // takes byte k % 4 of its word, lanes 4..7 add the high bits from the third word (KQuants.groupScales too).
    static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    static final IntVector BYTE_SHIFTS = IntVector.fromArray(I8, new int[] {0, 8, 16, 24, 0, 8, 16, 24}, 0);
    static final VectorMask<Integer> LANES_4_TO_7 = VectorMask.fromLong(I8, 0xf0L);

    /**
     * Q4_K rows times y, n of them from {@code first}, into {@code out[outOff..+n)}: x = d*sc*q - dmin*m
     * per 32 values; sm: 16 ints of scratch. The 8 scales and 8 mins are unpacked in vector lanes, and
     * the mins' products with the activation's group sums stay in float lanes until the row's end: done
     * in scalar code, those took about half of the instructions per block on an AVX2 core (C2's code,
     * read with a disassembler).
     */
    static void q4k(long first, int n, Q8K y, int cols, int[] sm, float[] out, int outOff) {
        if (SlicedKQuantDot.applies()) {
            SlicedKQuantDot.q4k(first, n, y, cols, sm, out, outOff);
            return;
        }
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var SW = Simd.SW;
        final var BW = Simd.BW;
        final int L2 = SW.length();
        final short[] q8 = y.qs;
        final long rowBytes = 144L * (cols / 256);
        for (int r = 0; r < n; r++) {
            long off = first + r * rowBytes;
            FloatVector total = FloatVector.zero(F);
            FloatVector minTotal = FloatVector.zero(F8);
            for (int blk = 0; blk < cols / 256; blk++, off += 144) {
                int yo = 256 * blk;
                // The 8 scales into sm[0..7] and the 8 mins in lanes, unpacked as KQuants.groupScales does.
                IntVector w0 = IntVector.broadcast(I8, seg.get(Layouts.INT_LE, off + 4)).lanewise(LSHR, BYTE_SHIFTS);
                IntVector w1 = IntVector.broadcast(I8, seg.get(Layouts.INT_LE, off + 8)).lanewise(LSHR, BYTE_SHIFTS);
                IntVector w2 = IntVector.broadcast(I8, seg.get(Layouts.INT_LE, off + 12)).lanewise(LSHR, BYTE_SHIFTS);
                w0.and(0x3f).blend(w2.and(0x0f).or(w0.lanewise(LSHR, 6).and(3).lanewise(LSHL, 4)), LANES_4_TO_7)
                        .intoArray(sm, 0);
                IntVector mins = w1.and(0x3f)
                        .blend(w2.lanewise(LSHR, 4).and(0x0f).or(w1.lanewise(LSHR, 6).and(3).lanewise(LSHL, 4)), LANES_4_TO_7);
                IntVector acc = IntVector.zero(I);
                for (int j = 0; j < 4; j++) {
                    // A 32-value group's products, added as shorts (|q*q8| <= 15*128: four fit), then each
                    // int lane's two halves summed in three operations: (m + (m << 16)) >> 16 leaves
                    // hi + lo in the high half (exact while the sum fits a short), sign-extended.
                    ShortVector s0 = ShortVector.zero(SW), s1 = s0;
                    for (int i = 0; i < 32; i += L2) {
                        ShortVector q = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + 16 + 32 * j + i, LE)
                                .convertShape(ZERO_EXTEND_B2S, SW, 0);
                        s0 = s0.add(q.and((short) 15).mul(ShortVector.fromArray(SW, q8, yo + 64 * j + i)));
                        s1 = s1.add(q.lanewise(LSHR, 4).mul(ShortVector.fromArray(SW, q8, yo + 64 * j + 32 + i)));
                    }
                    IntVector m0 = s0.reinterpretAsInts(), m1 = s1.reinterpretAsInts();
                    IntVector p0 = m0.add(m0.lanewise(LSHL, 16)).lanewise(ASHR, 16);
                    IntVector p1 = m1.add(m1.lanewise(LSHL, 16)).lanewise(ASHR, 16);
                    acc = acc.add(p0.mul(sm[2 * j])).add(p1.mul(sm[2 * j + 1]));
                }
                float yd = y.d[blk];
                float d = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
                float dmin = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 2));
                total = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(F, yd * d), total);
                minTotal = ((FloatVector) mins.mul(IntVector.fromArray(I8, y.sums32, 8 * blk)).convert(I2F, 0))
                        .fma(FloatVector.broadcast(F8, yd * dmin), minTotal);
            }
            out[outOff + r] = total.reduceLanes(ADD) - minTotal.reduceLanes(ADD);
        }
    }

    /** Q5_K rows times y: as Q4_K, with a fifth bit per value from qh. */
    static void q5k(long first, int n, Q8K y, int cols, int[] sm, float[] out, int outOff) {
        if (SlicedKQuantDot.applies()) {
            SlicedKQuantDot.q5k(first, n, y, cols, sm, out, outOff);
            return;
        }
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var SW = Simd.SW;
        final var BW = Simd.BW;
        final int L2 = SW.length();
        final short[] q8 = y.qs;
        final long rowBytes = 176L * (cols / 256);
        for (int r = 0; r < n; r++) {
            long off = first + r * rowBytes;
            FloatVector total = FloatVector.zero(F);
            FloatVector minTotal = FloatVector.zero(F8);
            for (int blk = 0; blk < cols / 256; blk++, off += 176) {
                int yo = 256 * blk;
                // The 8 scales into sm[0..7] and the 8 mins in lanes, unpacked as KQuants.groupScales does.
                IntVector w0 = IntVector.broadcast(I8, seg.get(Layouts.INT_LE, off + 4)).lanewise(LSHR, BYTE_SHIFTS);
                IntVector w1 = IntVector.broadcast(I8, seg.get(Layouts.INT_LE, off + 8)).lanewise(LSHR, BYTE_SHIFTS);
                IntVector w2 = IntVector.broadcast(I8, seg.get(Layouts.INT_LE, off + 12)).lanewise(LSHR, BYTE_SHIFTS);
                w0.and(0x3f).blend(w2.and(0x0f).or(w0.lanewise(LSHR, 6).and(3).lanewise(LSHL, 4)), LANES_4_TO_7)
                        .intoArray(sm, 0);
                IntVector mins = w1.and(0x3f)
                        .blend(w2.lanewise(LSHR, 4).and(0x0f).or(w1.lanewise(LSHR, 6).and(3).lanewise(LSHL, 4)), LANES_4_TO_7);
                IntVector acc = IntVector.zero(I);
                for (int j = 0; j < 4; j++) {
                    // The first vector's products start the sums (with 32 short lanes it is the whole group):
                    // C2 keeps an add to a zero vector, a vpaddw per 32 values. Not so in q4k, which then ran
                    // slower (C2 unrolled its four groups and scheduled them worse).
                    ShortVector q = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + 48 + 32 * j, LE)
                            .convertShape(ZERO_EXTEND_B2S, SW, 0);
                    ShortVector h = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + 16, LE)
                            .convertShape(ZERO_EXTEND_B2S, SW, 0).lanewise(LSHR, 2 * j);
                    ShortVector s0 = q.and((short) 15).or(h.and((short) 1).lanewise(LSHL, 4))
                            .mul(ShortVector.fromArray(SW, q8, yo + 64 * j));
                    ShortVector s1 = q.lanewise(LSHR, 4).or(h.and((short) 2).lanewise(LSHL, 3))
                            .mul(ShortVector.fromArray(SW, q8, yo + 64 * j + 32));
                    for (int i = L2; i < 32; i += L2) {
                        q = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + 48 + 32 * j + i, LE)
                                .convertShape(ZERO_EXTEND_B2S, SW, 0);
                        h = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + 16 + i, LE)
                                .convertShape(ZERO_EXTEND_B2S, SW, 0).lanewise(LSHR, 2 * j);
                        ShortVector lo = q.and((short) 15).or(h.and((short) 1).lanewise(LSHL, 4));
                        ShortVector hi = q.lanewise(LSHR, 4).or(h.and((short) 2).lanewise(LSHL, 3));
                        s0 = s0.add(lo.mul(ShortVector.fromArray(SW, q8, yo + 64 * j + i)));
                        s1 = s1.add(hi.mul(ShortVector.fromArray(SW, q8, yo + 64 * j + 32 + i)));
                    }
                    // As Q4_K: |q*q8| <= 31*128, so a group's sums fit a short.
                    IntVector m0 = s0.reinterpretAsInts(), m1 = s1.reinterpretAsInts();
                    IntVector p0 = m0.add(m0.lanewise(LSHL, 16)).lanewise(ASHR, 16);
                    IntVector p1 = m1.add(m1.lanewise(LSHL, 16)).lanewise(ASHR, 16);
                    acc = acc.add(p0.mul(sm[2 * j])).add(p1.mul(sm[2 * j + 1]));
                }
                float yd = y.d[blk];
                float d = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
                float dmin = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 2));
                total = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(F, yd * d), total);
                minTotal = ((FloatVector) mins.mul(IntVector.fromArray(I8, y.sums32, 8 * blk)).convert(I2F, 0))
                        .fma(FloatVector.broadcast(F8, yd * dmin), minTotal);
            }
            out[outOff + r] = total.reduceLanes(ADD) - minTotal.reduceLanes(ADD);
        }
    }

    /**
     * With 16 int lanes (AVX-512) a 32-value short vector spans two Q6_K groups: spread k = 4h + v gives
     * vector v of half h its two scales, 8h + 2v in lanes 0-7 and 8h + 2v + 1 in lanes 8-15.
     */
    private static final VectorShuffle<Integer>[] SCALE_SPREAD = scaleSpread();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Integer>[] scaleSpread() {
        VectorShuffle<Integer>[] s = new VectorShuffle[8];
        if (Simd.I.length() != 16) return s;  // only the 16-lane path takes them
        for (int k = 0; k < 8; k++) {
            int[] lanes = new int[16];
            for (int i = 0; i < 16; i++) lanes[i] = 8 * (k / 4) + 2 * (k % 4) + i / 8;
            s[k] = VectorShuffle.fromArray(Simd.I, lanes, 0);
        }
        return s;
    }

    /**
     * Q6_K rows times y, as Q4_K: q = (ql | qh << 4) - 32 with int8 scales per 16 values. In short lanes as Q4_K
     * (|q*q8| <= 63*128: a pair's sum fits a short); with 16 lanes (AVX2) a vector is one 16-value scale
     * group, with 32 (AVX-512) two, whose scales come from one load of the block's 16 ({@link #SCALE_SPREAD}).
     * Int lanes took two vpmulld for what one vpmullw does here.
     */
    static void q6k(long first, int n, Q8K y, int cols, float[] out, int outOff) {
        if (SlicedKQuantDot.applies()) {
            SlicedKQuantDot.q6k(first, n, y, cols, out, outOff);
            return;
        }
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var SW = Simd.SW;
        final var BW = Simd.BW;
        final int L2 = SW.length();
        final short[] q8 = y.qs;
        final long rowBytes = 210L * (cols / 256);
        for (int r = 0; r < n; r++) {
            long off = first + r * rowBytes;
            FloatVector total = FloatVector.zero(F);
            float sum = 0;
            for (int blk = 0; blk < cols / 256; blk++, off += 210) {
                int yo = 256 * blk;
                long sc = off + 192;
                IntVector acc = IntVector.zero(I);
                IntVector scales = L2 > 16
                        ? (IntVector) ByteVector.fromMemorySegment(Simd.B, seg, sc, LE).convertShape(B2I, I, 0) : null;
                for (int h = 0; h < 2; h++) {
                    for (int l = 0; l < 32; l += L2) {
                        ShortVector ql0 = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + 64 * h + l, LE)
                                .convertShape(ZERO_EXTEND_B2S, SW, 0);
                        ShortVector ql1 = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + 64 * h + 32 + l, LE)
                                .convertShape(ZERO_EXTEND_B2S, SW, 0);
                        ShortVector qh = (ShortVector) ByteVector.fromMemorySegment(BW, seg, off + 128 + 32 * h + l, LE)
                                .convertShape(ZERO_EXTEND_B2S, SW, 0);
                        int e = yo + 128 * h + l;
                        IntVector m0 = ql0.and((short) 15).or(qh.and((short) 3).lanewise(LSHL, 4))
                                .mul(ShortVector.fromArray(SW, q8, e)).reinterpretAsInts();
                        IntVector m1 = ql1.and((short) 15).or(qh.and((short) 12).lanewise(LSHL, 2))
                                .mul(ShortVector.fromArray(SW, q8, e + 32)).reinterpretAsInts();
                        IntVector m2 = ql0.lanewise(LSHR, 4).or(qh.and((short) 48))
                                .mul(ShortVector.fromArray(SW, q8, e + 64)).reinterpretAsInts();
                        IntVector m3 = ql1.lanewise(LSHR, 4).or(qh.and((short) 192).lanewise(LSHR, 2))
                                .mul(ShortVector.fromArray(SW, q8, e + 96)).reinterpretAsInts();
                        IntVector s0, s1, s2, s3;
                        if (L2 > 16) {
                            // The block's 16 scales in lanes, spread per vector: lanes 0-7 take the scale of its
                            // first 16 values, lanes 8-15 the next one's (a broadcast and blend per scale cost
                            // 12 more operations per 128 values).
                            s0 = scales.rearrange(SCALE_SPREAD[4 * h]);
                            s1 = scales.rearrange(SCALE_SPREAD[4 * h + 1]);
                            s2 = scales.rearrange(SCALE_SPREAD[4 * h + 2]);
                            s3 = scales.rearrange(SCALE_SPREAD[4 * h + 3]);
                        } else {
                            // The scale of the vector's first 16 values; +2 per 32 values.
                            long g = sc + (128 * h + l) / 16;
                            s0 = IntVector.broadcast(I, seg.get(ValueLayout.JAVA_BYTE, g));
                            s1 = IntVector.broadcast(I, seg.get(ValueLayout.JAVA_BYTE, g + 2));
                            s2 = IntVector.broadcast(I, seg.get(ValueLayout.JAVA_BYTE, g + 4));
                            s3 = IntVector.broadcast(I, seg.get(ValueLayout.JAVA_BYTE, g + 6));
                        }
                        acc = acc.add(m0.add(m0.lanewise(LSHL, 16)).lanewise(ASHR, 16).mul(s0));
                        acc = acc.add(m1.add(m1.lanewise(LSHL, 16)).lanewise(ASHR, 16).mul(s1));
                        acc = acc.add(m2.add(m2.lanewise(LSHL, 16)).lanewise(ASHR, 16).mul(s2));
                        acc = acc.add(m3.add(m3.lanewise(LSHL, 16)).lanewise(ASHR, 16).mul(s3));
                    }
                }
                float dd = y.d[blk] * Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 208));
                total = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(F, dd), total);
                // The 16 scales times the activation's 16-value sums, in 8 int lanes (exact integers, so
                // the same offset as a scalar loop, which took about a fifth of the block's instructions).
                int offset = ((IntVector) ByteVector.fromMemorySegment(B8, seg, sc, LE).convertShape(B2I, I8, 0))
                        .mul(IntVector.fromArray(I8, y.bsums, 16 * blk))
                        .add(((IntVector) ByteVector.fromMemorySegment(B8, seg, sc + 8, LE).convertShape(B2I, I8, 0))
                                .mul(IntVector.fromArray(I8, y.bsums, 16 * blk + 8)))
                        .reduceLanes(ADD);
                sum -= dd * 32 * offset;
            }
            out[outOff + r] = total.reduceLanes(ADD) + sum;
        }
    }
}
