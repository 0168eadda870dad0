package io.quire.backend.cpu;

import static io.quire.backend.cpu.KQuants.u8;

import io.quire.backend.TensorType;

/**
 * Decoding of the 32-value block types Q4_1, Q5_0, Q5_1 and IQ4_NL, as ggml's dequantize_row_*
 * computes them (same float operations in the same order, so bit for bit). Value j of a block is the
 * low nibble of qs[j] for j &lt; 16 and the high nibble of qs[j - 16] after; Q5's fifth bit j is bit j
 * of the little-endian u32 qh.
 * <ul>
 * <li>Q4_1 (20 bytes): fp16 d, fp16 m, qs[16]. x = d*q + m.
 * <li>Q5_0 (22): fp16 d, qh[4], qs[16]. x = d*(q - 16).
 * <li>Q5_1 (24): fp16 d, fp16 m, qh[4], qs[16]. x = d*q + m.
 * <li>IQ4_NL (18): fp16 d, qs[16]. x = d*value[q] ({@link KQuants#IQ4_VALUES}).
 * </ul>
 */
final class SmallBlockQuants {
    private SmallBlockQuants() {}

    static void dequantizeRow(TensorType type, long off, int cols, float[] out, int outOff) {
        int bytes = type.blockBytes();
        for (int c = 0; c < cols; c += 32, off += bytes) {
            float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off));
            int at = outOff + c;
            switch (type) {
                case Q4_1 -> {
                    float m = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 2));
                    for (int j = 0; j < 32; j++) y(out, at, j, d * nibble(off + 4, j) + m);
                }
                case Q5_0 -> {
                    int qh = Simd.ALL.get(Layouts.INT_LE, off + 2);
                    for (int j = 0; j < 32; j++) y(out, at, j, d * ((nibble(off + 6, j) | ((qh >>> j) & 1) << 4) - 16));
                }
                case Q5_1 -> {
                    float m = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 2));
                    int qh = Simd.ALL.get(Layouts.INT_LE, off + 4);
                    for (int j = 0; j < 32; j++) y(out, at, j, d * (nibble(off + 8, j) | ((qh >>> j) & 1) << 4) + m);
                }
                case IQ4_NL -> {
                    for (int j = 0; j < 32; j++) y(out, at, j, d * KQuants.IQ4_VALUES[nibble(off + 2, j)]);
                }
                default -> throw Quant.unsupported(type);
            }
        }
    }

    /**
     * Q4_1 or Q5_1 rows as {@code d*q} without their offsets, which go to {@code mins} (one per
     * 32-value block): the batched product adds {@code m} times the activations' Q8_1 block sums
     * itself, as llama.cpp's vec_dot does, instead of {@code m} times the sum of the rounded values.
     */
    static void dequantizeRowWithoutMin(TensorType type, long off, int cols, float[] out, int outOff, float[] mins,
            int minsOff) {
        int bytes = type.blockBytes();
        for (int c = 0, b = 0; c < cols; c += 32, b++, off += bytes) {
            float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off));
            int at = outOff + c;
            mins[minsOff + b] = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 2));
            switch (type) {
                case Q4_1 -> {
                    for (int j = 0; j < 32; j++) y(out, at, j, d * nibble(off + 4, j));
                }
                case Q5_1 -> {
                    int qh = Simd.ALL.get(Layouts.INT_LE, off + 4);
                    for (int j = 0; j < 32; j++) y(out, at, j, d * (nibble(off + 8, j) | ((qh >>> j) & 1) << 4));
                }
                default -> throw Quant.unsupported(type);
            }
        }
    }

    private static void y(float[] out, int at, int j, float v) {
        out[at + j] = v;
    }

    private static int nibble(long qs, int j) {
        return j < 16 ? u8(qs + j) & 15 : u8(qs + j - 16) >> 4;
    }
}
