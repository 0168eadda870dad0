package io.quire.backend.cpu;

import io.quire.backend.TensorType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
 * Scalar on purpose: this runs once per row of a tile that a whole batch then reuses, and for
 * embedding rows; the batch-1 dot products in {@link KQuantDot} never decode to floats.
 */
final class KQuants {
    static final int QK_K = 256;
    /** The non-linear 4-bit grid of IQ4_NL and IQ4_XS (kvalues_iq4nl). */
    static final byte[] IQ4_VALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    private KQuants() {}

    /** Decodes {@code cols} values (whole blocks) stored at absolute address {@code off}. */
    static void dequantizeRow(TensorType type, long off, int cols, float[] out, int outOff) {
        int bytes = type.blockBytes();
        for (int c = 0; c < cols; c += QK_K, off += bytes) {
            switch (type) {
                case Q2_K -> q2k(off, out, outOff + c);
                case Q3_K -> q3k(off, out, outOff + c);
                case Q4_K -> q4k(off, out, outOff + c, false);
                case Q5_K -> q4k(off, out, outOff + c, true);
                case Q6_K -> q6k(off, out, outOff + c);
                case IQ4_XS -> iq4xs(off, out, outOff + c);
                default -> throw Quant.unsupported(type);
            }
        }
    }

    static int u8(long addr) {
        return Simd.ALL.get(ValueLayout.JAVA_BYTE, addr) & 0xff;
    }

    static float half(long addr) {
        return Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, addr));
    }

    private static void q2k(long off, float[] y, int at) {
        float d = half(off + 80), dmin = half(off + 82);
        for (int e = 0; e < QK_K; e++) {
            int sc = u8(off + e / 16);
            float dl = d * (sc & 15), ml = dmin * (sc >> 4);
            int q = (u8(off + 16 + (e / 128) * 32 + e % 32) >> (2 * ((e % 128) / 32))) & 3;
            y[at + e] = dl * q - ml;
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

    private static void q3k(long off, float[] y, int at) {
        float d = half(off + 108);
        int[] sc = new int[16];
        q3kScales(off + 96, sc);
        for (int e = 0; e < QK_K; e++) {
            float dl = d * sc[e / 16];
            int l = e % 32;
            int low = (u8(off + 32 + (e / 128) * 32 + l) >> (2 * ((e % 128) / 32))) & 3;
            int hbit = (u8(off + l) >> (e / 32)) & 1;
            y[at + e] = dl * (low - (hbit == 0 ? 4 : 0));
        }
    }

    /** Scale (j < 8) or min (j >= 8, of group j - 8) of Q4_K/Q5_K's 12 packed bytes (get_scale_min_k4). */
    static int q4kScale(long scales, int j) {
        boolean min = j >= 8;
        j &= 7;
        if (j < 4) return u8(scales + j + (min ? 4 : 0)) & 63;
        int packed = u8(scales + j + 4);
        int top = u8(scales + j - 4 + (min ? 4 : 0)) >> 6;
        return (min ? packed >> 4 : packed & 15) | top << 4;
    }

    private static void q4k(long off, float[] y, int at, boolean fifthBit) {
        float d = half(off), dmin = half(off + 2);
        long qs = off + (fifthBit ? 48 : 16);
        for (int j = 0; j < 8; j++) {
            float dl = d * q4kScale(off + 4, j), ml = dmin * q4kScale(off + 4, 8 + j);
            for (int l = 0; l < 32; l++) {
                int q = (u8(qs + (j / 2) * 32 + l) >> (4 * (j % 2))) & 15;
                if (fifthBit) q |= ((u8(off + 16 + l) >> j) & 1) << 4;
                y[at + 32 * j + l] = dl * q - ml;
            }
        }
    }

    private static void q6k(long off, float[] y, int at) {
        float d = half(off + 208);
        for (int e = 0; e < QK_K; e++) {
            float dl = d * Simd.ALL.get(ValueLayout.JAVA_BYTE, off + 192 + e / 16);
            int h = e / 128, r = e % 128;
            int low = (u8(off + h * 64 + r % 64) >> (4 * (r / 64))) & 15;
            int high = (u8(off + 128 + h * 32 + r % 32) >> (2 * (r / 32))) & 3;
            y[at + e] = dl * ((low | high << 4) - 32);
        }
    }

    /** IQ4_XS's scale of group j (0..7), unbiased (-32..31). */
    static int iq4xsScale(long off, int j) {
        int low = (u8(off + 4 + j / 2) >> (4 * (j % 2))) & 15;
        int high = (Short.toUnsignedInt(Simd.ALL.get(Layouts.SHORT_LE, off + 2)) >> (2 * j)) & 3;
        return (low | high << 4) - 32;
    }

    private static void iq4xs(long off, float[] y, int at) {
        float d = half(off);
        for (int j = 0; j < 8; j++) {
            float dl = d * iq4xsScale(off, j);
            for (int l = 0; l < 32; l++) {
                int q = (u8(off + 8 + 16 * j + l % 16) >> (4 * (l / 16))) & 15;
                y[at + 32 * j + l] = dl * IQ4_VALUES[q];
            }
        }
    }
}
