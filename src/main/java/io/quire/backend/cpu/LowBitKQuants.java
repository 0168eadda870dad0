package io.quire.backend.cpu;

import static io.quire.backend.cpu.KQuants.IQ4_VALUES;
import static io.quire.backend.cpu.KQuants.QK_K;
import static io.quire.backend.cpu.KQuants.u8;

/**
 * Decoding of Q2_K, Q3_K and IQ4_XS blocks (layouts in {@link KQuants}), value by value as ggml's
 * dequantize_row_* computes them, so bit for bit the same. These types are rare in the files people
 * download, so they stay scalar; their batch-1 dot products are in {@link LowBitKQuantDot}.
 */
final class LowBitKQuants {
    private LowBitKQuants() {}

    static void q2k(long off, float[] y, int at) {
        float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 80));
        float dmin = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 82));
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

    static void q3k(long off, float[] y, int at) {
        float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 108));
        int[] sc = KQuants.SCALES.get();
        q3kScales(off + 96, sc);
        for (int e = 0; e < QK_K; e++) {
            float dl = d * sc[e / 16];
            int l = e % 32;
            int low = (u8(off + 32 + (e / 128) * 32 + l) >> (2 * ((e % 128) / 32))) & 3;
            int hbit = (u8(off + l) >> (e / 32)) & 1;
            y[at + e] = dl * (low - (hbit == 0 ? 4 : 0));
        }
    }

    /** IQ4_XS's scale of group j (0..7), unbiased (-32..31). */
    static int iq4xsScale(long off, int j) {
        int low = (u8(off + 4 + j / 2) >> (4 * (j % 2))) & 15;
        int high = (Short.toUnsignedInt(Simd.ALL.get(Layouts.SHORT_LE, off + 2)) >> (2 * j)) & 3;
        return (low | high << 4) - 32;
    }

    static void iq4xs(long off, float[] y, int at) {
        float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off));
        for (int j = 0; j < 8; j++) {
            float dl = d * iq4xsScale(off, j);
            for (int l = 0; l < 32; l++) {
                int q = (u8(off + 8 + 16 * j + l % 16) >> (4 * (l / 16))) & 15;
                y[at + 32 * j + l] = dl * IQ4_VALUES[q];
            }
        }
    }
}
