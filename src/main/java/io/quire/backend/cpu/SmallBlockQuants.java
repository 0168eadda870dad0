package io.quire.backend.cpu;

import static io.quire.backend.cpu.KQuants.u8;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;

import io.quire.backend.TensorType;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

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
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private SmallBlockQuants() {}

    /**
     * Q5_0 and IQ4_NL in lanes ({@link #decodeInLanes}); Q4_1 and Q5_1 (with their offsets: rows read
     * one at a time, not in the batched product) value by value.
     */
    static void dequantizeRow(TensorType type, long off, int cols, float[] out, int outOff) {
        if (type == TensorType.Q5_0 || type == TensorType.IQ4_NL) {
            decodeInLanes(type, off, cols, out, outOff, null, 0);
            return;
        }
        int bytes = type.blockBytes();
        for (int c = 0; c < cols; c += 32, off += bytes) {
            float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off));
            int at = outOff + c;
            switch (type) {
                case Q4_1 -> {
                    float m = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 2));
                    for (int j = 0; j < 32; j++) y(out, at, j, d * nibble(off + 4, j) + m);
                }
                case Q5_1 -> {
                    float m = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 2));
                    int qh = Simd.ALL.get(Layouts.INT_LE, off + 4);
                    for (int j = 0; j < 32; j++) y(out, at, j, d * (nibble(off + 8, j) | ((qh >>> j) & 1) << 4) + m);
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
        if (type != TensorType.Q4_1 && type != TensorType.Q5_1) throw Quant.unsupported(type);
        decodeInLanes(type, off, cols, out, outOff, mins, minsOff);
    }

    /**
     * The batched product's decoding of Q5_0 and IQ4_NL ({@code d*(q - 16)}, {@code d*value[q]}) and of
     * Q4_1 and Q5_1 without their offsets ({@code d*q}, m into mins), 16 values at a time in int lanes:
     * the same integers, each times d in one rounding, so the same bits as the scalar loops they replaced, which
     * took 11-16 ms (Q4_1, Q5_0, Q5_1) and 38 ms (IQ4_NL) per 8192 x 2048 matrix (bench kernels).
     */
    private static void decodeInLanes(TensorType type, long off, int cols, float[] out, int outOff, float[] mins,
            int minsOff) {
        final var I = Simd.I;
        final int L = Simd.L;
        final int bytes = type.blockBytes();
        final int qhOff = type == TensorType.Q5_0 ? 2 : type == TensorType.Q5_1 ? 4 : -1;
        final int qsOff = type == TensorType.Q4_1 ? 4 : qhOff >= 0 ? qhOff + 4 : 2;
        final int bias = type == TensorType.Q5_0 ? 16 : 0;
        final boolean grid = type == TensorType.IQ4_NL;
        final IntVector iota = IntVector.zero(I).addIndex(1);
        final IntVector grid0 = IntVector.fromArray(I, KQuants.IQ4_GRID, 0);
        final IntVector grid1 = L == 16 ? grid0 : IntVector.fromArray(I, KQuants.IQ4_GRID, 8);
        for (int c = 0, b = 0; c < cols; c += 32, b++, off += bytes) {
            float d = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off));
            if (mins != null) mins[minsOff + b] = Float.float16ToFloat(Simd.ALL.get(Layouts.SHORT_LE, off + 2));
            IntVector bits = IntVector.broadcast(I, qhOff >= 0 ? Simd.ALL.get(Layouts.INT_LE, off + qhOff) : 0);
            for (int i = 0; i < 16; i += L) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(Simd.B, Simd.ALL, off + qsOff + i, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                // Values i.. from the low nibbles, 16 + i.. from the high ones; Q5's fifth bits (0 without qh).
                IntVector lo = q.and(15).or(bits.lanewise(LSHR, iota.add(i)).and(1).lanewise(LSHL, 4)).sub(bias);
                IntVector hi = q.lanewise(LSHR, 4).or(bits.lanewise(LSHR, iota.add(16 + i)).and(1).lanewise(LSHL, 4))
                        .sub(bias);
                if (grid) {
                    lo = lo.selectFrom(grid0, grid1);
                    hi = hi.selectFrom(grid0, grid1);
                }
                ((FloatVector) lo.convert(I2F, 0)).mul(d).intoArray(out, outOff + c + i);
                ((FloatVector) hi.convert(I2F, 0)).mul(d).intoArray(out, outOff + c + 16 + i);
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
