package io.quire.backend.cpu;

import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;

import io.quire.backend.TensorType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Decoding of the 256-value "super-block" types Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS, value for
 * value as ggml's dequantize_row_* (and gguf-py's numpy reference) compute them: each group's scale
 * is formed first ({@code dl = d * sc}, {@code ml = dmin * m}), then {@code dl * q - ml}, in float, in
 * that order, so the results are bit for bit the same.
 *
 * <p>Block layouts (ggml-common.h), in byte order:
 * <ul>
 * <li>Q2_K (84): scales[16] (low nibble scale, high nibble min, one per 16 values), qs[64] (2 bits),
 *     fp16 d, fp16 dmin. x = d*(sc&15)*q - dmin*(sc>>4).
 * <li>Q3_K (110): hmask[32] (high bit), qs[64] (low 2 bits), scales[12] (16 6-bit scales, biased by
 *     32), fp16 d. x = d*(sc-32)*(q - (hbit ? 0 : 4)).
 * <li>Q4_K (144): fp16 d, fp16 dmin, scales[12] (8 6-bit scales and 8 6-bit mins, one per 32 values),
 *     qs[128] (4 bits). x = d*sc*q - dmin*m.
 * <li>Q5_K (176): as Q4_K with qh[32] (fifth bit) before qs.
 * <li>Q6_K (210): ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], fp16 d. x = d*sc*(q-32).
 * <li>IQ4_XS (136): fp16 d, u16 scales_h, scales_l[4] (8 6-bit scales biased by 32), qs[128] (4-bit
 *     indexes into {@link #IQ4_VALUES}). x = d*(sc-32)*value[q].
 * </ul>
 * This runs once per row of a tile that a whole batch then reuses, and for embedding rows (the batch-1
 * dot products in {@link KQuantDot} never decode to floats). Q4_K, Q5_K and Q6_K, the types of the
 * common Q4_K_M/Q5_K_M/Q6_K files, decode here in vector lanes (the same float multiply, then
 * subtract); the others go value by value ({@link LowBitKQuants}).
 */
final class KQuants {
    static final int QK_K = 256;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** The non-linear 4-bit grid of IQ4_NL and IQ4_XS (kvalues_iq4nl). */
    static final byte[] IQ4_VALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    /** The same grid as ints, for the kernels that look it up in int lanes (grid0: entries 0-7, grid1: 8-15 on 8 lanes). */
    static final int[] IQ4_GRID = new int[16];
    /** The same values as shorts, for the kernels that look them up in 16-bit lanes. */
    static final short[] IQ4_GRID_SHORTS = new short[16];

    static {
        for (int i = 0; i < 16; i++) {
            IQ4_GRID[i] = IQ4_VALUES[i];
            IQ4_GRID_SHORTS[i] = IQ4_VALUES[i];
        }
    }

    private KQuants() {}

    /** Decodes {@code cols} values (whole blocks) stored at absolute address {@code off}. */
    static void dequantizeRow(TensorType type, long off, int cols, float[] out, int outOff) {
        int bytes = type.blockBytes();
        float[] sf = GROUP_SCALES.get();
        for (int c = 0; c < cols; c += QK_K, off += bytes) {
            switch (type) {
                case Q2_K -> LowBitKQuants.q2k(off, out, outOff + c);
                case Q3_K -> LowBitKQuants.q3k(off, out, outOff + c);
                case Q4_K -> q4kVector(off, out, outOff + c, false, sf);
                case Q5_K -> q4kVector(off, out, outOff + c, true, sf);
                case Q6_K -> q6kVector(off, out, outOff + c);
                case IQ4_XS -> LowBitKQuants.iq4xs(off, out, outOff + c);
                default -> throw Quant.unsupported(type);
            }
        }
    }

    static int u8(long addr) {
        return Simd.ALL.get(ValueLayout.JAVA_BYTE, addr) & 0xff;
    }

    /** This thread's array of 16 scales (Q3_K's, Q4_K/Q5_K's scales and mins): kernels unpack them per block of every row. */
    static final ThreadLocal<int[]> SCALES = ThreadLocal.withInitial(() -> new int[16]);

    /** This thread's 16 floats of a Q4_K/Q5_K block's {@link #groupScales} (one array per row made GBs of garbage). */
    static final ThreadLocal<float[]> GROUP_SCALES = ThreadLocal.withInitial(() -> new float[16]);

    /**
     * The Q4_K/Q5_K block at absolute address off: its 8 groups' {@code d sc_g} into {@code dl[dlAt..+8)} and
     * {@code dmin m_g} into {@code ml[mlAt..+8)}, the 6-bit scales and mins unpacked in vector lanes (in scalar
     * code, 16 ints unpacked and 16 products took half of a block's dequantization and three quarters of
     * a short tile's unpacking: perf of bench kernels --types Q4_K --batches 8,16). The same float
     * products as one group at a time, so the same bits.
     */
    static void groupScales(long off, float[] dl, int dlAt, float[] ml, int mlAt) {
        // 8 int lanes, as KQuantDot's batch-1 kernels decode them: lane k takes byte k % 4 of its word,
        // lanes 4..7 add their high bits from the third word, as ggml's whole-word masks do.
        final var I8 = KQuantDot.I8;
        final var BYTE_SHIFTS = KQuantDot.BYTE_SHIFTS;
        final var LANES_4_TO_7 = KQuantDot.LANES_4_TO_7;
        final MemorySegment seg = Simd.ALL;
        float d = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off));
        float dmin = Float.float16ToFloat(seg.get(Layouts.SHORT_LE, off + 2));
        IntVector w0 = IntVector.broadcast(I8, seg.get(Layouts.INT_LE, off + 4)).lanewise(LSHR, BYTE_SHIFTS);
        IntVector w1 = IntVector.broadcast(I8, seg.get(Layouts.INT_LE, off + 8)).lanewise(LSHR, BYTE_SHIFTS);
        IntVector w2 = IntVector.broadcast(I8, seg.get(Layouts.INT_LE, off + 12)).lanewise(LSHR, BYTE_SHIFTS);
        IntVector sc = w0.and(0x3f).blend(w2.and(0x0f).or(w0.lanewise(LSHR, 6).and(3).lanewise(LSHL, 4)), LANES_4_TO_7);
        IntVector m = w1.and(0x3f).blend(w2.lanewise(LSHR, 4).and(0x0f).or(w1.lanewise(LSHR, 6).and(3).lanewise(LSHL, 4)), LANES_4_TO_7);
        ((FloatVector) sc.convert(I2F, 0)).mul(d).intoArray(dl, dlAt);
        ((FloatVector) m.convert(I2F, 0)).mul(dmin).intoArray(ml, mlAt);
    }

    /**
     * Q4_K/Q5_K in lanes: per 32-value group {@code dl * q - ml}, the same two float operations; sf: 16
     * floats of scratch for the block's {@link #groupScales}.
     */
    private static void q4kVector(long off, float[] y, int at, boolean fifthBit, float[] sf) {
        final MemorySegment seg = Simd.ALL;
        final var I = Simd.I;
        final var B = Simd.B;
        final int L = Simd.L;
        long qs = off + (fifthBit ? 48 : 16);
        groupScales(off, sf, 0, sf, 8);
        // The four group pairs written out, not a loop: C2 set a 4-trip loop up for range-check
        // elimination once per block, about twice the instructions of the vector work itself.
        float dl0, ml0, dl1, ml1;
        dl0 = sf[0];
        ml0 = sf[8];
        dl1 = sf[1];
        ml1 = sf[9];
        for (int i = 0; i < 32; i += L) {
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, qs + i, LE)
                    .convertShape(ZERO_EXTEND_B2I, I, 0);
            IntVector lo = q.and(15), hi = q.lanewise(LSHR, 4);
            if (fifthBit) {
                IntVector h = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 16 + i, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                lo = lo.or(h.and(1).lanewise(LSHL, 4));
                hi = hi.or(h.and(2).lanewise(LSHL, 3));
            }
            ((FloatVector) lo.convert(I2F, 0)).mul(dl0).sub(ml0).intoArray(y, at + i);
            ((FloatVector) hi.convert(I2F, 0)).mul(dl1).sub(ml1).intoArray(y, at + 32 + i);
        }
        dl0 = sf[2];
        ml0 = sf[10];
        dl1 = sf[3];
        ml1 = sf[11];
        for (int i = 0; i < 32; i += L) {
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, qs + 32 + i, LE)
                    .convertShape(ZERO_EXTEND_B2I, I, 0);
            IntVector lo = q.and(15), hi = q.lanewise(LSHR, 4);
            if (fifthBit) {
                IntVector h = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 16 + i, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0).lanewise(LSHR, 2);
                lo = lo.or(h.and(1).lanewise(LSHL, 4));
                hi = hi.or(h.and(2).lanewise(LSHL, 3));
            }
            ((FloatVector) lo.convert(I2F, 0)).mul(dl0).sub(ml0).intoArray(y, at + 64 + i);
            ((FloatVector) hi.convert(I2F, 0)).mul(dl1).sub(ml1).intoArray(y, at + 96 + i);
        }
        dl0 = sf[4];
        ml0 = sf[12];
        dl1 = sf[5];
        ml1 = sf[13];
        for (int i = 0; i < 32; i += L) {
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, qs + 64 + i, LE)
                    .convertShape(ZERO_EXTEND_B2I, I, 0);
            IntVector lo = q.and(15), hi = q.lanewise(LSHR, 4);
            if (fifthBit) {
                IntVector h = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 16 + i, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0).lanewise(LSHR, 4);
                lo = lo.or(h.and(1).lanewise(LSHL, 4));
                hi = hi.or(h.and(2).lanewise(LSHL, 3));
            }
            ((FloatVector) lo.convert(I2F, 0)).mul(dl0).sub(ml0).intoArray(y, at + 128 + i);
            ((FloatVector) hi.convert(I2F, 0)).mul(dl1).sub(ml1).intoArray(y, at + 160 + i);
        }
        dl0 = sf[6];
        ml0 = sf[14];
        dl1 = sf[7];
        ml1 = sf[15];
        for (int i = 0; i < 32; i += L) {
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, qs + 96 + i, LE)
                    .convertShape(ZERO_EXTEND_B2I, I, 0);
            IntVector lo = q.and(15), hi = q.lanewise(LSHR, 4);
            if (fifthBit) {
                IntVector h = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 16 + i, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0).lanewise(LSHR, 6);
                lo = lo.or(h.and(1).lanewise(LSHL, 4));
                hi = hi.or(h.and(2).lanewise(LSHL, 3));
            }
            ((FloatVector) lo.convert(I2F, 0)).mul(dl0).sub(ml0).intoArray(y, at + 192 + i);
            ((FloatVector) hi.convert(I2F, 0)).mul(dl1).sub(ml1).intoArray(y, at + 224 + i);
        }
    }

    /** Q6_K in lanes: {@code (d * sc) * (q - 32)}. */
    private static void q6kVector(long off, float[] y, int at) {
        final MemorySegment seg = Simd.ALL;
        final var I = Simd.I;
        final var B = Simd.B;
        final int L = Simd.L;
        float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 208));
        // The two halves written out, not a loop (as q4kVector's group pairs).
        for (int l = 0; l < 32; l += L) {
            IntVector ql0 = (IntVector) ByteVector.fromMemorySegment(B, seg, off + l, LE)
                    .convertShape(ZERO_EXTEND_B2I, I, 0);
            IntVector ql1 = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 32 + l, LE)
                    .convertShape(ZERO_EXTEND_B2I, I, 0);
            IntVector qh = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 128 + l, LE)
                    .convertShape(ZERO_EXTEND_B2I, I, 0);
            int e = l;
            long sc = off + 192 + e / 16;
            float dl0 = d * seg.get(ValueLayout.JAVA_BYTE, sc), dl1 = d * seg.get(ValueLayout.JAVA_BYTE, sc + 2);
            float dl2 = d * seg.get(ValueLayout.JAVA_BYTE, sc + 4), dl3 = d * seg.get(ValueLayout.JAVA_BYTE, sc + 6);
            ((FloatVector) ql0.and(15).or(qh.and(3).lanewise(LSHL, 4)).sub(32).convert(I2F, 0)).mul(dl0)
                    .intoArray(y, at + e);
            ((FloatVector) ql1.and(15).or(qh.and(12).lanewise(LSHL, 2)).sub(32).convert(I2F, 0)).mul(dl1)
                    .intoArray(y, at + e + 32);
            ((FloatVector) ql0.lanewise(LSHR, 4).or(qh.and(48)).sub(32).convert(I2F, 0)).mul(dl2)
                    .intoArray(y, at + e + 64);
            ((FloatVector) ql1.lanewise(LSHR, 4).or(qh.and(192).lanewise(LSHR, 2)).sub(32).convert(I2F, 0))
                    .mul(dl3).intoArray(y, at + e + 96);
        }
        for (int l = 0; l < 32; l += L) {
            IntVector ql0 = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 64 + l, LE)
                    .convertShape(ZERO_EXTEND_B2I, I, 0);
            IntVector ql1 = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 96 + l, LE)
                    .convertShape(ZERO_EXTEND_B2I, I, 0);
            IntVector qh = (IntVector) ByteVector.fromMemorySegment(B, seg, off + 160 + l, LE)
                    .convertShape(ZERO_EXTEND_B2I, I, 0);
            int e = 128 + l;
            long sc = off + 192 + e / 16;
            float dl0 = d * seg.get(ValueLayout.JAVA_BYTE, sc), dl1 = d * seg.get(ValueLayout.JAVA_BYTE, sc + 2);
            float dl2 = d * seg.get(ValueLayout.JAVA_BYTE, sc + 4), dl3 = d * seg.get(ValueLayout.JAVA_BYTE, sc + 6);
            ((FloatVector) ql0.and(15).or(qh.and(3).lanewise(LSHL, 4)).sub(32).convert(I2F, 0)).mul(dl0)
                    .intoArray(y, at + e);
            ((FloatVector) ql1.and(15).or(qh.and(12).lanewise(LSHL, 2)).sub(32).convert(I2F, 0)).mul(dl1)
                    .intoArray(y, at + e + 32);
            ((FloatVector) ql0.lanewise(LSHR, 4).or(qh.and(48)).sub(32).convert(I2F, 0)).mul(dl2)
                    .intoArray(y, at + e + 64);
            ((FloatVector) ql1.lanewise(LSHR, 4).or(qh.and(192).lanewise(LSHR, 2)).sub(32).convert(I2F, 0))
                    .mul(dl3).intoArray(y, at + e + 96);
        }
    }
}
