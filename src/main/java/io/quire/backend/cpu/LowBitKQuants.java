package io.quire.backend.cpu;

import static io.quire.backend.cpu.KQuants.u8;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.XOR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Decoding of Q2_K, Q3_K and IQ4_XS blocks (layouts in {@link KQuants}) as ggml's dequantize_row_*
 * computes them, so bit for bit the same: each value is its small integer times the group's float
 * scale (minus Q2_K's float min), one rounding each, in vector lanes or not. They go 16 values (one
 * scale group, or half an IQ4_XS group) at a time in int lanes: value by value, with a division and
 * a remainder per value, Q2_K and Q3_K took 31-36 ms per 8192 x 2048 matrix in the batched path
 * (bench kernels), IQ4_XS 12-18, where Q6_K took 3. Their batch-1 dot products are in
 * {@link LowBitKQuantDot}.
 */
final class LowBitKQuants {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private LowBitKQuants() {}

    /**
     * Q2_K: value e = 128n + 32j + 16g + l has the 2 bits at 2j of byte 32n + 16g + l of qs, and
     * scale/min byte e / 16 (low nibble scale, high nibble min).
     */
    static void q2k(long off, float[] y, int at) {
        final var I = Simd.I;
        final int L = Simd.L;
        float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 80));
        float dmin = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 82));
        for (int n = 0; n < 2; n++) {
            for (int j = 0; j < 4; j++) {
                for (int g = 0; g < 2; g++) {
                    int e0 = 128 * n + 32 * j + 16 * g;
                    int sc = u8(off + e0 / 16);
                    float dl = d * (sc & 15), ml = dmin * (sc >> 4);
                    long q = off + 16 + 32 * n + 16 * g;
                    for (int l = 0; l < 16; l += L) {
                        IntVector v = ((IntVector) ByteVector.fromMemorySegment(Simd.B, Simd.ALL, q + l, LE)
                                .convertShape(ZERO_EXTEND_B2I, I, 0)).lanewise(LSHR, 2 * j).and(3);
                        ((FloatVector) v.convert(I2F, 0)).mul(dl).sub(ml).intoArray(y, at + e0 + l);
                    }
                }
            }
        }
    }

    /** Q3_K's 16 scales from their 12 packed bytes, unbiased (-32..31). */
    static void q3kScales(long scales, int[] sc) {
        for (int k = 0; k < 16; k++) {
            int low = (u8(scales + k % 8) >> (4 * (k / 8))) & 15;
            int high = (u8(scales + 8 + k % 4) >> (2 * (k / 4))) & 3;
            sc[k] = (low | high << 4) - 32;
        }
    }

    /**
     * Q3_K: value e = 128n + 32j + 16g + l has its 2 low bits at 2j of byte 32n + 16g + l of qs and
     * its high bit (when clear, 4 is subtracted) at bit 4n + j of hmask byte 16g + l.
     */
    static void q3k(long off, float[] y, int at) {
        final var I = Simd.I;
        final int L = Simd.L;
        float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 108));
        int[] sc = KQuants.SCALES.get();
        q3kScales(off + 96, sc);
        for (int n = 0; n < 2; n++) {
            for (int j = 0; j < 4; j++) {
                for (int g = 0; g < 2; g++) {
                    int e0 = 128 * n + 32 * j + 16 * g;
                    float dl = d * sc[e0 / 16];
                    long q = off + 32 + 32 * n + 16 * g;
                    long h = off + 16 * g;
                    for (int l = 0; l < 16; l += L) {
                        IntVector low = ((IntVector) ByteVector.fromMemorySegment(Simd.B, Simd.ALL, q + l, LE)
                                .convertShape(ZERO_EXTEND_B2I, I, 0)).lanewise(LSHR, 2 * j).and(3);
                        // 4 (1 - hbit): 4 when the high bit is clear.
                        IntVector minus = ((IntVector) ByteVector.fromMemorySegment(Simd.B, Simd.ALL, h + l, LE)
                                .convertShape(ZERO_EXTEND_B2I, I, 0)).lanewise(LSHR, 4 * n + j).and(1)
                                .lanewise(XOR, 1).lanewise(LSHL, 2);
                        ((FloatVector) low.sub(minus).convert(I2F, 0)).mul(dl).intoArray(y, at + e0 + l);
                    }
                }
            }
        }
    }

    /** IQ4_XS's scale of group j (0..7), unbiased (-32..31). */
    static int iq4xsScale(long off, int j) {
        int low = (u8(off + 4 + j / 2) >> (4 * (j % 2))) & 15;
        int high = (Short.toUnsignedInt(Simd.ALL.get(Layouts.SHORT_LE, off + 2)) >> (2 * j)) & 3;
        return (low | high << 4) - 32;
    }

    /**
     * IQ4_XS: value l of group j is the table's entry at nibble l / 16 of byte 16j + l % 16 of qs, looked
     * up in vector lanes (selectFrom over the table's two halves: vpermi2d).
     */
    static void iq4xs(long off, float[] y, int at) {
        final var I = Simd.I;
        final int L = Simd.L;
        final IntVector grid0 = IntVector.fromArray(I, KQuants.IQ4_GRID, 0);
        final IntVector grid1 = L == 16 ? grid0 : IntVector.fromArray(I, KQuants.IQ4_GRID, 8);
        float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off));
        for (int j = 0; j < 8; j++) {
            float dl = d * iq4xsScale(off, j);
            for (int l = 0; l < 16; l += L) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(Simd.B, Simd.ALL, off + 8 + 16 * j + l, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                ((FloatVector) q.and(15).selectFrom(grid0, grid1).convert(I2F, 0)).mul(dl)
                        .intoArray(y, at + 32 * j + l);
                ((FloatVector) q.lanewise(LSHR, 4).selectFrom(grid0, grid1).convert(I2F, 0)).mul(dl)
                        .intoArray(y, at + 32 * j + 16 + l);
            }
        }
    }
}
