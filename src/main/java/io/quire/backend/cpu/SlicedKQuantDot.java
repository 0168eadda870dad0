package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.B2I;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link KQuantDot}'s Q4_K, Q5_K and Q6_K kernels on 16 short lanes (AVX2; 8 float lanes): 32 bytes of quants
 * are loaded as one vector of shorts and their nibbles (and Q6_K's high bits) shifted out in place,
 * where KQuantDot loads 16-byte halves and widens each. So a vector holds quants in another order than
 * the row's: the Q8_K activation is kept in the same order too ({@link Q8K#qs4k}, {@link Q8K#qs6k}),
 * filled once per call for all rows. The integers per scale group are the same as KQuantDot's,
 * summed in other lanes. The bit work runs in int lanes (see {@link #LOW4}). One thread of {@code
 * bench kernels --rows 4096 --cols 2048 --batches 1}, best us, against KQuantDot: Q4_K 649-655
 * against 877-915, Q5_K 854-865 against 1,272-1,329, Q6_K 944-970 against 1,263-1,271.
 *
 * <p>Tried and slower: the four group pairs of a Q4_K block written out instead of a loop (862-867
 * against 688 us).
 */
final class SlicedKQuantDot {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    // 8 int lanes, what Simd.I is wherever these kernels apply (built so on any machine).
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final IntVector BYTE_SHIFTS = IntVector.fromArray(I8, new int[] {0, 8, 16, 24, 0, 8, 16, 24}, 0);
    private static final VectorMask<Integer> LANES_4_TO_7 = VectorMask.fromLong(I8, 0xf0L);
    /** Q6_K: lanes 0-3 take scale 2m of eight, lanes 4-7 scale 2m + 1. */
    private static final VectorShuffle<Integer> SCALES_0 = VectorShuffle.fromValues(I8, 0, 0, 0, 0, 1, 1, 1, 1);
    private static final VectorShuffle<Integer> SCALES_1 = VectorShuffle.fromValues(I8, 2, 2, 2, 2, 3, 3, 3, 3);
    private static final VectorShuffle<Integer> SCALES_2 = VectorShuffle.fromValues(I8, 4, 4, 4, 4, 5, 5, 5, 5);
    private static final VectorShuffle<Integer> SCALES_3 = VectorShuffle.fromValues(I8, 6, 6, 6, 6, 7, 7, 7, 7);

    // The bit work runs in int lanes, each holding two shorts, with masks that keep every short's
    // bits from its neighbour's: C2 compiles a short lane's shift by a constant as three
    // instructions (the count moved through a register), an int lane's as one.
    /** The low nibble of each short of an int. */
    private static final int LOW4 = 0x000f000f;
    /** Bit 4 of each short of an int. */
    private static final int BIT_4 = 0x00100010;
    /** Bits 4 and 5 of each short of an int. */
    private static final int BITS_4_5 = 0x00300030;

    private SlicedKQuantDot() {}

    /** Whether these kernels run on this machine's vectors. */
    static boolean applies() {
        return Simd.SW.length() == 16;
    }

    /**
     * Q4_K rows times y, as {@link KQuantDot#q4k}; sm: 16 ints of scratch. A group pair's 32 bytes (64
     * quants) in 16 shorts: nibble n of lane i is quant 2i + n / 2 of the low 32 (n even) or of the
     * high 32 (n odd).
     */
    static void q4k(long first, int n, Q8K y, int cols, int[] sm, float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var SW = Simd.SW;
        final short[] q8 = y.qs4k;
        final long rowBytes = 144L * (cols / 256);
        for (int r = 0; r < n; r++) {
            long off = first + r * rowBytes;
            FloatVector total = FloatVector.zero(F);
            FloatVector minTotal = FloatVector.zero(F);
            for (int blk = 0; blk < cols / 256; blk++, off += 144) {
                int yo = 256 * blk;
                // The 8 scales into sm[0..7] and the 8 mins in lanes, unpacked as KQuants.groupScales does.
                IntVector w0 = IntVector.broadcast(I, seg.get(Layouts.INT_LE, off + 4)).lanewise(LSHR, BYTE_SHIFTS);
                IntVector w1 = IntVector.broadcast(I, seg.get(Layouts.INT_LE, off + 8)).lanewise(LSHR, BYTE_SHIFTS);
                IntVector w2 = IntVector.broadcast(I, seg.get(Layouts.INT_LE, off + 12)).lanewise(LSHR, BYTE_SHIFTS);
                w0.and(0x3f).blend(w2.and(0x0f).or(w0.lanewise(LSHR, 6).and(3).lanewise(LSHL, 4)), LANES_4_TO_7)
                        .intoArray(sm, 0);
                IntVector mins = w1.and(0x3f)
                        .blend(w2.lanewise(LSHR, 4).and(0x0f).or(w1.lanewise(LSHR, 6).and(3).lanewise(LSHL, 4)), LANES_4_TO_7);
                IntVector acc = IntVector.zero(I);
                for (int j = 0; j < 4; j++) {
                    IntVector v = IntVector.fromMemorySegment(I, seg, off + 16 + 32 * j, LE);
                    int e = yo + 64 * j;
                    ShortVector s0 = v.and(LOW4).reinterpretAsShorts().mul(ShortVector.fromArray(SW, q8, e))
                            .add(v.lanewise(LSHR, 8).and(LOW4).reinterpretAsShorts().mul(ShortVector.fromArray(SW, q8, e + 32)));
                    ShortVector s1 = v.lanewise(LSHR, 4).and(LOW4).reinterpretAsShorts().mul(ShortVector.fromArray(SW, q8, e + 16))
                            .add(v.lanewise(LSHR, 12).and(LOW4).reinterpretAsShorts()
                                    .mul(ShortVector.fromArray(SW, q8, e + 48)));
                    IntVector m0 = s0.reinterpretAsInts(), m1 = s1.reinterpretAsInts();
                    IntVector p0 = m0.add(m0.lanewise(LSHL, 16)).lanewise(ASHR, 16);
                    IntVector p1 = m1.add(m1.lanewise(LSHL, 16)).lanewise(ASHR, 16);
                    acc = acc.add(p0.mul(sm[2 * j])).add(p1.mul(sm[2 * j + 1]));
                }
                float yd = y.d[blk];
                float d = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
                float dmin = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 2));
                total = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(F, yd * d), total);
                minTotal = ((FloatVector) mins.mul(IntVector.fromArray(I, y.sums32, 8 * blk)).convert(I2F, 0))
                        .fma(FloatVector.broadcast(F, yd * dmin), minTotal);
            }
            out[outOff + r] = total.reduceLanes(ADD) - minTotal.reduceLanes(ADD);
        }
    }

    /** Q5_K rows times y, as {@link #q4k}, with each quant's fifth bit from qh (one load per block). */
    static void q5k(long first, int n, Q8K y, int cols, int[] sm, float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var SW = Simd.SW;
        final short[] q8 = y.qs4k;
        final long rowBytes = 176L * (cols / 256);
        for (int r = 0; r < n; r++) {
            long off = first + r * rowBytes;
            FloatVector total = FloatVector.zero(F);
            FloatVector minTotal = FloatVector.zero(F);
            for (int blk = 0; blk < cols / 256; blk++, off += 176) {
                int yo = 256 * blk;
                // The 8 scales into sm[0..7] and the 8 mins in lanes, unpacked as KQuants.groupScales does.
                IntVector w0 = IntVector.broadcast(I, seg.get(Layouts.INT_LE, off + 4)).lanewise(LSHR, BYTE_SHIFTS);
                IntVector w1 = IntVector.broadcast(I, seg.get(Layouts.INT_LE, off + 8)).lanewise(LSHR, BYTE_SHIFTS);
                IntVector w2 = IntVector.broadcast(I, seg.get(Layouts.INT_LE, off + 12)).lanewise(LSHR, BYTE_SHIFTS);
                w0.and(0x3f).blend(w2.and(0x0f).or(w0.lanewise(LSHR, 6).and(3).lanewise(LSHL, 4)), LANES_4_TO_7)
                        .intoArray(sm, 0);
                IntVector mins = w1.and(0x3f)
                        .blend(w2.lanewise(LSHR, 4).and(0x0f).or(w1.lanewise(LSHR, 6).and(3).lanewise(LSHL, 4)), LANES_4_TO_7);
                IntVector acc = IntVector.zero(I);
                IntVector qh = IntVector.fromMemorySegment(I, seg, off + 16, LE);
                for (int j = 0; j < 4; j++) {
                    IntVector v = IntVector.fromMemorySegment(I, seg, off + 48 + 32 * j, LE);
                    // The fifth bits of this pair of groups at bits 0 and 1 of each byte.
                    IntVector h = qh.lanewise(LSHR, 2 * j);
                    int e = yo + 64 * j;
                    ShortVector s0 = v.and(LOW4).or(h.and(0x00010001).lanewise(LSHL, 4)).reinterpretAsShorts()
                            .mul(ShortVector.fromArray(SW, q8, e))
                            .add(v.lanewise(LSHR, 8).and(LOW4).or(h.lanewise(LSHR, 4).and(BIT_4)).reinterpretAsShorts()
                                    .mul(ShortVector.fromArray(SW, q8, e + 32)));
                    ShortVector s1 = v.lanewise(LSHR, 4).and(LOW4).or(h.and(0x00020002).lanewise(LSHL, 3)).reinterpretAsShorts()
                            .mul(ShortVector.fromArray(SW, q8, e + 16))
                            .add(v.lanewise(LSHR, 12).and(LOW4).or(h.lanewise(LSHR, 5).and(BIT_4)).reinterpretAsShorts()
                                    .mul(ShortVector.fromArray(SW, q8, e + 48)));
                    IntVector m0 = s0.reinterpretAsInts(), m1 = s1.reinterpretAsInts();
                    IntVector p0 = m0.add(m0.lanewise(LSHL, 16)).lanewise(ASHR, 16);
                    IntVector p1 = m1.add(m1.lanewise(LSHL, 16)).lanewise(ASHR, 16);
                    acc = acc.add(p0.mul(sm[2 * j])).add(p1.mul(sm[2 * j + 1]));
                }
                float yd = y.d[blk];
                float d = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
                float dmin = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 2));
                total = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(F, yd * d), total);
                minTotal = ((FloatVector) mins.mul(IntVector.fromArray(I, y.sums32, 8 * blk)).convert(I2F, 0))
                        .fma(FloatVector.broadcast(F, yd * dmin), minTotal);
            }
            out[outOff + r] = total.reduceLanes(ADD) - minTotal.reduceLanes(ADD);
        }
    }

    /**
     * Q6_K rows times y, as {@link KQuantDot#q6k}. Per 128 values, ql's two 32-byte halves and qh's 32
     * bytes are one load each; short lane i holds values 2i (low byte) and 2i + 1 (high byte) of each
     * 32, so lanes 0-7 fall in one 16-value scale group and lanes 8-15 in the next. The even and odd
     * products are added as shorts (|q * q8| <= 63 * 128, two fit), summed in pairs into int lanes 0-3
     * and 4-7, and multiplied by their two scales at once.
     */
    static void q6k(long first, int n, Q8K y, int cols, float[] out, int outOff) {
        final MemorySegment seg = Simd.ALL;
        final var F = Simd.F;
        final var I = Simd.I;
        final var SW = Simd.SW;
        final short[] q8 = y.qs6k;
        final long rowBytes = 210L * (cols / 256);
        for (int r = 0; r < n; r++) {
            long off = first + r * rowBytes;
            FloatVector total = FloatVector.zero(F);
            float sum = 0;
            for (int blk = 0; blk < cols / 256; blk++, off += 210) {
                long sc = off + 192;
                IntVector acc = IntVector.zero(I);
                for (int h = 0; h < 2; h++) {
                    IntVector ql0 = IntVector.fromMemorySegment(I, seg, off + 64 * h, LE);
                    IntVector ql1 = IntVector.fromMemorySegment(I, seg, off + 64 * h + 32, LE);
                    IntVector qh = IntVector.fromMemorySegment(I, seg, off + 128 + 32 * h, LE);
                    IntVector scales = (IntVector) ByteVector.fromMemorySegment(Simd.B, seg, sc + 8 * h, LE)
                            .convertShape(B2I, I, 0);
                    int e = 256 * blk + 128 * h;
                    // Value 32m + l of these 128: l = 2i in the low byte of short i, l = 2i + 1 in the high one.
                    ShortVector m0 = ql0.and(LOW4).or(qh.and(0x00030003).lanewise(LSHL, 4)).reinterpretAsShorts()
                            .mul(ShortVector.fromArray(SW, q8, e))
                            .add(ql0.lanewise(LSHR, 8).and(LOW4).or(qh.lanewise(LSHR, 4).and(BITS_4_5)).reinterpretAsShorts()
                                    .mul(ShortVector.fromArray(SW, q8, e + 16)));
                    ShortVector m1 = ql1.and(LOW4).or(qh.and(0x000c000c).lanewise(LSHL, 2)).reinterpretAsShorts()
                            .mul(ShortVector.fromArray(SW, q8, e + 32))
                            .add(ql1.lanewise(LSHR, 8).and(LOW4).or(qh.lanewise(LSHR, 6).and(BITS_4_5)).reinterpretAsShorts()
                                    .mul(ShortVector.fromArray(SW, q8, e + 48)));
                    ShortVector m2 = ql0.lanewise(LSHR, 4).and(LOW4).or(qh.and(BITS_4_5)).reinterpretAsShorts()
                            .mul(ShortVector.fromArray(SW, q8, e + 64))
                            .add(ql0.lanewise(LSHR, 12).and(LOW4).or(qh.lanewise(LSHR, 8).and(BITS_4_5)).reinterpretAsShorts()
                                    .mul(ShortVector.fromArray(SW, q8, e + 80)));
                    ShortVector m3 = ql1.lanewise(LSHR, 4).and(LOW4).or(qh.lanewise(LSHR, 2).and(BITS_4_5)).reinterpretAsShorts()
                            .mul(ShortVector.fromArray(SW, q8, e + 96))
                            .add(ql1.lanewise(LSHR, 12).and(LOW4).or(qh.lanewise(LSHR, 10).and(BITS_4_5)).reinterpretAsShorts()
                                    .mul(ShortVector.fromArray(SW, q8, e + 112)));
                    IntVector p0 = m0.reinterpretAsInts(), p1 = m1.reinterpretAsInts();
                    IntVector p2 = m2.reinterpretAsInts(), p3 = m3.reinterpretAsInts();
                    acc = acc.add(p0.add(p0.lanewise(LSHL, 16)).lanewise(ASHR, 16).mul(scales.rearrange(SCALES_0)));
                    acc = acc.add(p1.add(p1.lanewise(LSHL, 16)).lanewise(ASHR, 16).mul(scales.rearrange(SCALES_1)));
                    acc = acc.add(p2.add(p2.lanewise(LSHL, 16)).lanewise(ASHR, 16).mul(scales.rearrange(SCALES_2)));
                    acc = acc.add(p3.add(p3.lanewise(LSHL, 16)).lanewise(ASHR, 16).mul(scales.rearrange(SCALES_3)));
                }
                float dd = y.d[blk] * Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 208));
                total = ((FloatVector) acc.convert(I2F, 0)).fma(FloatVector.broadcast(F, dd), total);
                // Q6_K's offset of 32: the 16 scales times the activation's 16-value sums, as KQuantDot.
                int offset = ((IntVector) ByteVector.fromMemorySegment(Simd.B, seg, sc, LE).convertShape(B2I, I, 0))
                        .mul(IntVector.fromArray(I, y.bsums, 16 * blk))
                        .add(((IntVector) ByteVector.fromMemorySegment(Simd.B, seg, sc + 8, LE).convertShape(B2I, I, 0))
                                .mul(IntVector.fromArray(I, y.bsums, 16 * blk + 8)))
                        .reduceLanes(ADD);
                sum -= dd * 32 * offset;
            }
            out[outOff + r] = total.reduceLanes(ADD) + sum;
        }
    }
}
